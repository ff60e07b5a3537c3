#!/usr/bin/env bash
# Train the B family (B = 1, 1.5, 2, 2.5) one after another; a member replaces its shipped model in assets/models
# only when its test accuracy is higher. Resumable: rerun the same command after an interruption.
#   scripts/train_b_family.sh               stage 1 from scratch (configs/cifar10_bfamily.toml)
#   STAGE=full scripts/train_b_family.sh    stage 2: continue each shipped member on the full training set
#   STAGE=long scripts/train_b_family.sh    stage 3: continue each shipped member for 16 more epochs
#   STAGE=cutout scripts/train_b_family.sh  stage 4: 16 more epochs with cutout and a weight average
#   B_VALUES="1.0 2.0" STAGE=long ...       only those members (two such commands share two cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
stage="${STAGE:-}"
for b in ${B_VALUES:-1.0 1.5 2.0 2.5}; do
  shipped="cifar10_bfamily_b$b"  # registered name; its weights are assets/models/$shipped.safetensors
  if [[ -n "$stage" ]]; then  # a later stage: configs/cifar10_bfamily_$stage.toml from the shipped member
    out="runs/cifar10_bfamily_${stage}_b$b"
    .venv/bin/python -m training.train --config "configs/cifar10_bfamily_$stage.toml" --model.b="$b" --run.out_dir="$out" --run.init_from="assets/models/$shipped" --resume "$@"
  else
    out="runs/cifar10_bfamily_b$b"
    .venv/bin/python -m training.train --config configs/cifar10_bfamily.toml --model.b="$b" --run.out_dir="$out" --resume "$@"
  fi
  .venv/bin/python -m training.promote "$out/model" "$shipped"
done
