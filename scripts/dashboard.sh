#!/usr/bin/env bash
# Install everything into .venv and serve the dashboard on the shipped default model (http://localhost:8501).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements.txt
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m app.serve --server.port "${PORT:-8501}" "$@"
