#!/usr/bin/env bash
# Regenerate assets/evaluation/: explanation quality of the shipped B-cos models (accuracy, localisation at smoothing 3
# and 1 on 500 grids, alignment, explanation sheet), then the pointing game of the default model against the post-hoc
# methods on both it and the conventional baseline at the paper's CIFAR-10 smoothing (3), and the CIFAR ViT against its
# post-hoc methods (Integrated Gradients left out: the slowest, ≈ 20 backward passes per class). About 100 min on a 2-core AVX2 CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python -m training.evaluate --quality --model cifar10_fastnet_b2 --model cifar10_vitc_b2 --model cifar10_vgg9_b1 \
  --model cifar10_vgg9_b1.5 --model cifar10_vgg9_b2 --model cifar10_vgg9_b2.5 --grids 500 --out assets/evaluation/quality.json \
  --sheet assets/evaluation/explanation_sheet.png
.venv/bin/python -m training.evaluate --localisation --model cifar10_fastnet_b2 --model cifar10_conventional \
  --smooth 3 --grids "${GRIDS:-100}" --posthoc-grids "${POSTHOC_GRIDS:-20}" --out assets/evaluation/localisation.json --plot assets/evaluation/localisation.png
.venv/bin/python -m training.evaluate --localisation --append --model cifar10_vitc_b2 \
  --methods "B-cos contributions,Gradient,Input×Gradient,Occlusion,Attention rollout" \
  --smooth 3 --grids "${GRIDS:-100}" --posthoc-grids "${POSTHOC_GRIDS:-20}" --out assets/evaluation/localisation.json --plot assets/evaluation/localisation.png
