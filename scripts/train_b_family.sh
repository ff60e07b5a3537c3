#!/usr/bin/env bash
# Train the B family: the paper's network (v1's 9-layer MaxOut network without normalisation, half width,
# configs/cifar10_vgg9_half.toml: v1's recipe, cosine planned over 100 epochs) at B = 1, 1.5, 2 and 2.5, one member
# after another, every member with the same budget: stopped after epoch 75 (--run.stop_after_epoch=75; B = 2's test
# accuracy had stood still for 40 epochs there). A finished member is measured (single pass and mirror-averaging copy,
# eager fp32, whole test set) and left in runs/cifar10_vgg9_half_b${B}_mirror/model; ship it by copying that model to
# assets/models/cifar10_vgg9_b$B.* and registering it (README, "Model card: the B family"), then measure its quality.
#   bash scripts/train_b_family.sh                 # every member in turn; rerun to continue
#   B_VALUES="1.5" bash scripts/train_b_family.sh  # one member
#   pkill -INT -f "configs/cifar10_vgg9_half.toml" # before the working period ends: the run saves its position,
#                                                  # the script parks it in parked/; commit that file
# A member takes ≈ 1.6–2 h on two threads of a 2-core Xeon with AMX (≈ 74–95 s an epoch with an evaluation with 100
# logged grids every 5 epochs), so a member may run over two working periods; the next one restores the parked state
# and resumes it bit for bit. A member shipped from its run (cifar10_vgg9_b$B, its metadata's lineage) is skipped, so
# its parked state can go once it is shipped. (Until 2026-12-07 this name trained the FastNet family:
# docs/fastnet-family.md.)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=.venv/bin/python
source scripts/_runs.sh

for b in ${B_VALUES:-1.0 1.5 2 2.5}; do  # run folders as the shipped members' lineages name them (…_b1.0, …_b2)
  out="runs/cifar10_vgg9_half_b$b" shipped="cifar10_vgg9_b$(printf '%g' "$b")"
  if shipped_from "$shipped" "$out"; then
    echo "$shipped: already shipped from $out, skipped"
    continue
  fi
  train_parked "$out" configs/cifar10_vgg9_half.toml --model.b="$b" --run.localisation_grids=100 --run.stop_after_epoch=75
  [ -f "${out}_mirror/model.json" ] || mirror_and_measure "$out"
done
