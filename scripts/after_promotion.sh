#!/usr/bin/env bash
# Rebuild the stored results that depend on one shipped model, after `training.promote` replaced its weights:
# its recorded test accuracy (measured again on the shipped file, which promotion may have stored in float16),
# its neuron index (when one is shipped), its row of the quality table and the explanation sheet (500 grids), and its
# pointing-game entry against the post-hoc methods (when it has one; 100 grids, post-hoc methods on the first 20).
#   bash scripts/after_promotion.sh cifar10_fastnet_b2
#   METHODS="B-cos contributions,Gradient,Input×Gradient,Occlusion,Attention rollout" bash scripts/after_promotion.sh cifar10_vitc_b2
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
model="${1:?usage: after_promotion.sh <registered model name>}"
python=.venv/bin/python
results=assets/evaluation
index="assets/neuron_index/$model.cifar10-test.safetensors"
"$python" -m training.evaluate --model "$model" --write-metadata --compile off > /dev/null
if [ -f "$index" ]; then
  "$python" -m bcos_core.neuron_index build --model "$model" --out "$index"
fi
"$python" -m training.evaluate --quality --append --model "$model" --grids 500 --out "$results/quality.json" --sheet "$results/explanation_sheet.png"
if grep -q "\"$model\": {" "$results/localisation.json"; then
  "$python" -m training.evaluate --localisation --append --model "$model" --methods "${METHODS:-all}" --smooth 3 --grids 100 \
    --posthoc-grids 20 --out "$results/localisation.json" --plot "$results/localisation.png"
fi
