# Shell functions of scripts/train_b_family.sh, kept apart so that tests can source them (not run; expects $python
# and PYTHONPATH set).

# train_parked OUT_DIR CONFIG [TRAIN_ARGS...]: train (or resume) into OUT_DIR, first restoring a state parked in git
# by an earlier working period (training.park); when the run is interrupted (Ctrl-C, `pkill -INT -f OUT_DIR`), park
# its state, say to commit it, and return the run's exit status.
train_parked() {
  local out=$1 config=$2
  shift 2
  if [ -f "parked/$(basename "$out").json" ]; then
    "$python" -m training.park --restore "$out" || true  # refused when this machine's own state is further along
  fi
  local status=0
  "$python" -m training.train --config "$config" --run.out_dir="$out" --resume "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    "$python" -m training.park "$out" && echo "commit parked/$(basename "$out").* so that the next period continues it" >&2
    return "$status"
  fi
}

# mirror_and_measure OUT_DIR: measure a finished run's model (single pass) and its mirror-averaging copy
# (OUT_DIR_mirror/model: logits averaged over the image and its mirror image, the default model's design; a folder of
# its own, whose name the quality table uses as the copy's label), both in eager fp32 on the whole test set, into
# their metadata.
mirror_and_measure() {
  local run="$1/model" mirrored="${1}_mirror/model"
  "$python" -m training.evaluate --model "$run.safetensors" --write-metadata --compile off
  rm -f "$mirrored.safetensors" "$mirrored.json"
  "$python" -m training.mirror "$run" "$mirrored"
  "$python" -m training.evaluate --model "$mirrored.safetensors" --write-metadata --compile off
}

# shipped_from NAME OUT_DIR: true when the shipped model NAME came from the run in OUT_DIR (its metadata's lineage,
# training.promote.shipped_runs), so that run is done even on a machine without its runs/ folder or parked state.
shipped_from() {
  "$python" -c 'import sys; from training.promote import shipped_runs
sys.exit(sys.argv[2] not in shipped_runs(sys.argv[1]))' "$1" "$2"
}
