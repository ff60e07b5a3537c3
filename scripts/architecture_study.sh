#!/usr/bin/env bash
# Train every study candidate with $CONFIG (default configs/cifar10_study.toml; resumable: rerun to continue) into
# runs/$STUDY/<candidate>, then measure explanation quality of all finished candidates into
# assets/evaluation/$STUDY.json and ${STUDY}_sheet.png (default STUDY: study).
#   THREADS=1 bash scripts/architecture_study.sh            # all candidates
#   CANDIDATES="fastnet vgg9_half" bash scripts/architecture_study.sh
#   EVALUATE=0 CANDIDATES="fastnet" bash scripts/architecture_study.sh &   # train only: two candidates at a time
#   CONFIG=configs/cifar10_stripes_study.toml STUDY=stripes_study THREADS=2 \
#     CANDIDATES="vgg9_half vgg9_half_bnu vgg9_half_avgpool fastnet" bash scripts/architecture_study.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
declare -A OVERRIDES=(
  [fastnet]='--model.arch=bcos_fastnet_cifar10'
  [fastnet_b2.5]='--model.arch=bcos_fastnet_cifar10 --model.b=2.5'
  [fastnet_maxout]='--model.arch=bcos_fastnet_cifar10 --model.kwargs={"max_out":2}'
  [fastnet_maxout_b2.5]='--model.arch=bcos_fastnet_cifar10 --model.b=2.5 --model.kwargs={"max_out":2}'
  [fastnet_adamw]='--model.arch=bcos_fastnet_cifar10 --optim.optimizer=adamw --optim.weight_decay=0.05'
  [fastnet_default_recipe]='--model.arch=bcos_fastnet_cifar10 --optim.optimizer=adamw --optim.weight_decay=0.05 --optim.lr=2e-3 --optim.batch_size=256 --optim.warmup_epochs=2 --optim.ema_decay=0.996 --data.cutout=8'
  [vgg9_half]='--model.arch=bcos_vgg9_cifar10 --model.kwargs={"widths":[32,32,64,64,64,128,128,128]} --optim.lr=1e-3'
  [vgg9_half_b2.5]='--model.arch=bcos_vgg9_cifar10 --model.b=2.5 --model.kwargs={"widths":[32,32,64,64,64,128,128,128]} --optim.lr=1e-3'
  [vgg9_half_bnu]='--model.arch=bcos_vgg9_cifar10 --model.kwargs={"widths":[32,32,64,64,64,128,128,128],"norm":"bnu","v1_scales":false} --optim.lr=1e-3'
  [vgg9_half_avgpool]='--model.arch=bcos_vgg9_cifar10 --model.kwargs={"widths":[32,32,64,64,64,128,128,128],"downsample":"avgpool"} --optim.lr=1e-3'
  [vgg9_half_bnu_b2.5]='--model.arch=bcos_vgg9_cifar10 --model.b=2.5 --model.kwargs={"widths":[32,32,64,64,64,128,128,128],"norm":"bnu","v1_scales":false} --optim.lr=1e-3'
  [resnet20]='--model.arch=bcos_resnet20_cifar10'
)
models=()
for name in ${CANDIDATES:-fastnet fastnet_adamw resnet20 vgg9_half}; do
  out="runs/${STUDY:-study}/$name"
  # shellcheck disable=SC2086
  .venv/bin/python -m training.train --config "${CONFIG:-configs/cifar10_study.toml}" ${OVERRIDES[$name]} --run.out_dir="$out" --run.threads="${THREADS:-1}" --resume
  models+=(--model "$out/model.safetensors")
done
[[ "${EVALUATE:-1}" == 1 ]] || exit 0
.venv/bin/python -m training.evaluate --quality --threads "${THREADS:-2}" --grids "${GRIDS:-100}" "${models[@]}" \
  --out "assets/evaluation/${STUDY:-study}.json" --sheet "assets/evaluation/${STUDY:-study}_sheet.png"
