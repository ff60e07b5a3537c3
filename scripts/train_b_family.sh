#!/usr/bin/env bash
# Train the B family (B = 1, 1.5, 2, 2.5) with one recipe and one budget, and replace the shipped family with it, whole.
#   bash scripts/train_b_family.sh                     train (or resume) every member in turn, then promote the four together
#   B_VALUES="1.0 2.0" bash scripts/train_b_family.sh  only those members (two such commands can share the cores); no promotion
# Recipe: configs/cifar10_bfamily_wide.toml from scratch into runs/cifar10_bfamily_wide_b$B. Rerun the same command after
# an interruption: each run resumes from its last saved step, and a finished one returns at once. Then every member gets
# a mirror-averaging copy (the default model's design: logits averaged over the image and its mirror image); the single
# pass and the copy are measured in eager fp32 on the whole test set, and the four copies replace the shipped members
# only if each is more accurate than the member it replaces (training.promote, all or none); scripts/after_promotion.sh then rebuilds their stored results.
# The shipped half-width family's four stages (configs/cifar10_bfamily{,_full,_long,_cutout}.toml) were run by this
# script as of commit 027169b (`git show 027169b:scripts/train_b_family.sh`; docs/training-history.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=.venv/bin/python
family="1.0 1.5 2.0 2.5"
for b in ${B_VALUES:-$family}; do
  "$python" -m training.train --config configs/cifar10_bfamily_wide.toml --model.b="$b" --run.out_dir="runs/cifar10_bfamily_wide_b$b" --resume
done
if [[ -n "${B_VALUES:-}" ]]; then
  echo "trained B = $B_VALUES; the family is promoted once all four have finished (rerun without B_VALUES)"
  exit 0
fi
pairs=()
for b in $family; do
  run="runs/cifar10_bfamily_wide_b$b/model" mirrored="runs/cifar10_bfamily_wide_b$b/mirror/model"
  "$python" -m training.evaluate --model "$run.safetensors" --write-metadata --compile off  # the single pass, eager fp32
  rm -f "$mirrored.safetensors" "$mirrored.json"
  "$python" -m training.mirror "$run" "$mirrored"
  "$python" -m training.evaluate --model "$mirrored.safetensors" --write-metadata --compile off
  pairs+=("$mirrored" "cifar10_bfamily_b$b")
done
if "$python" -m training.promote "${pairs[@]}"; then
  for b in $family; do bash scripts/after_promotion.sh "cifar10_bfamily_b$b"; done
fi
