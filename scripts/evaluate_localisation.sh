#!/usr/bin/env bash
# The stored localisation results of the Evaluation page: default model + conventional baseline (all methods),
# then the B family (model-inherent contributions only), appended to the same JSON. About 25 min on 2 cores.
set -e
OUT=assets/evaluation/localisation.json
.venv/bin/python -m training.evaluate --localisation --model cifar10_fastnet_b2 --model assets/baselines/cifar10_conventional.safetensors --grids 500 --posthoc-grids 50 --out $OUT
.venv/bin/python -m training.evaluate --localisation --model cifar10_bfamily_b1.0 --model cifar10_bfamily_b1.5 --model cifar10_bfamily_b2.0 --model cifar10_bfamily_b2.5 --methods "B-cos contributions" --grids 500 --posthoc-grids 50 --out $OUT --append --plot assets/evaluation/localisation.png
