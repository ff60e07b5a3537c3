#!/usr/bin/env bash
# Train the B family (B = 1, 1.5, 2, 2.5) one after another and copy each model into assets/models.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
for b in ${B_VALUES:-1.0 1.5 2.0 2.5}; do
  out="runs/cifar10_bfamily_b$b"
  .venv/bin/python -m training.train --config configs/cifar10_bfamily.toml --model.b="$b" --run.out_dir="$out" --resume "$@"
  cp "$out/model.safetensors" "assets/models/cifar10_bfamily_b$b.safetensors"
  cp "$out/model.json" "assets/models/cifar10_bfamily_b$b.json"
done
