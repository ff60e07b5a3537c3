#!/usr/bin/env bash
# Train the B family (B = 1, 1.5, 2, 2.5) with one recipe and one budget, each member replacing its shipped predecessor
# as soon as it has finished and is more accurate.
#   bash scripts/train_b_family.sh                                   both cycles of every member in turn
#   B_VALUES="1.0 2.0" CYCLES="second" bash scripts/train_b_family.sh  only the second cycle of those members
# Recipe, two cosine cycles per member:
#   first:  configs/cifar10_bfamily_wide.toml from scratch into runs/cifar10_bfamily_wide_b$B (16 epochs: about 1 h on
#           two threads with AMX, 1.6 h without);
#   second: configs/cifar10_bfamily_wide_restart.toml from the shipped member into runs/cifar10_bfamily_wide_restart_b$B
#           (8 epochs, about half that; it needs the shipped member to be the full-width one, and says so if not).
# Rerun the same command after an interruption: a run resumes from its last saved epoch (from parked/ on a new machine:
# an interrupted run parks its state there, to be committed), a finished one returns at once, and a cycle the shipped
# member already came from is skipped (its metadata says so), on any machine.
# A finished run gets a mirror-averaging copy (the default model's design: logits averaged over the image and its mirror
# image); the single pass and the copy are measured in eager fp32 on the whole test set, the copy replaces the shipped
# member when it is more accurate (training.promote), and scripts/after_promotion.sh rebuilds its stored results.
# Members are promoted one by one because a machine's runs/ folder does not outlive its working period: only what is
# committed survives (a shipped model, or a parked state), so each is shipped (and committed) as it comes; the B family
# page says when the shipped members were trained with different recipes.
# The shipped half-width family's four stages (configs/cifar10_bfamily{,_full,_long,_cutout}.toml) were run by this
# script as of commit 027169b (`git show 027169b:scripts/train_b_family.sh`; docs/training-history.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python=.venv/bin/python
source scripts/_runs.sh

# train_and_ship MEMBER_B OUT_DIR CONFIG [TRAIN_ARGS...]: train (or resume), mirror, measure, promote when better.
train_and_ship() {
  local b=$1 out=$2 config=$3
  shift 3
  if shipped_from "cifar10_bfamily_b$b" "$out"; then
    echo "cifar10_bfamily_b$b: already shipped from $out, skipped"
    return
  fi
  train_parked "$out" "$config" --model.b="$b" "$@"
  mirror_and_measure "$out"
  if "$python" -m training.promote "${out}_mirror/model" "cifar10_bfamily_b$b"; then
    bash scripts/after_promotion.sh "cifar10_bfamily_b$b"
  fi
}

for b in ${B_VALUES:-1.0 1.5 2.0 2.5}; do
  for cycle in ${CYCLES:-first second}; do
    case $cycle in
      first) train_and_ship "$b" "runs/cifar10_bfamily_wide_b$b" configs/cifar10_bfamily_wide.toml ;;
      second) train_and_ship "$b" "runs/cifar10_bfamily_wide_restart_b$b" configs/cifar10_bfamily_wide_restart.toml \
        --run.init_from="assets/models/cifar10_bfamily_b$b" ;;
      *) echo "unknown cycle '$cycle' (first or second)" >&2; exit 2 ;;
    esac
  done
done
