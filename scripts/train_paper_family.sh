#!/usr/bin/env bash
# Train the paper's network (v1's 9-layer MaxOut network without normalisation, half width,
# configs/cifar10_vgg9_half.toml: v1's recipe, cosine over 100 epochs) at B = 2.5, 1.5 and 1, one member after another;
# its B = 2 member is the shipped cifar10_vgg9_b2, which was stopped after epoch 75 of that schedule (its test accuracy
# had stood still for 40 epochs), so every member gets the same budget: --run.stop_after_epoch=75. The question
# (README, "Why B = 2.5 localises worse"): does the family of the network without batch norm show the paper's trend,
# localisation and alignment rising with B, at ≥ 88 %?
#   bash scripts/train_paper_family.sh                 # every member in turn; rerun to continue
#   B_VALUES="1.5" bash scripts/train_paper_family.sh  # one member
#   pkill -INT -f "configs/cifar10_vgg9_half.toml"     # before the working period ends: the run saves its position,
#                                                      # the script parks it in parked/; commit that file
# A member takes ≈ 1.6 h on two threads of a 2-core Xeon with AMX (≈ 77 s an epoch with an evaluation with 100 logged
# grids every 5 epochs), so a member may run over two working periods; the next one restores the parked state and resumes it
# bit for bit. A finished member is measured (single pass and mirror-averaging copy, eager fp32, whole test set) and
# left in runs/cifar10_vgg9_half_b${B}_mirror/model for the quality command; nothing is promoted here: the family
# replaces the shipped one only as a whole, once every member is measured. A member shipped from its run
# (cifar10_vgg9_b$B, its metadata's lineage) is skipped, so its parked state can go once it is shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=.venv/bin/python
source scripts/_runs.sh

for b in ${B_VALUES:-2.5 1.5 1.0}; do
  out="runs/cifar10_vgg9_half_b$b" shipped="cifar10_vgg9_b$(printf '%g' "$b")"
  if shipped_from "$shipped" "$out"; then
    echo "$shipped: already shipped from $out, skipped"
    continue
  fi
  train_parked "$out" configs/cifar10_vgg9_half.toml --model.b="$b" --run.localisation_grids=100 --run.stop_after_epoch=75
  [ -f "${out}_mirror/model.json" ] || mirror_and_measure "$out"
done
