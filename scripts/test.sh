#!/usr/bin/env bash
# Install everything (plus test-only tools, and Chromium for the browser tests when apt-get is available)
# into .venv, lint (ruff) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements-test.txt
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed: browser tests will skip"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export BCOS_DATA_DIR="${BCOS_DATA_DIR:-$PWD/../shared/data}"
.venv/bin/ruff check .  # two plain commands: under set -e a failure inside an && list would not stop the script
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
