#!/usr/bin/env bash
# Set up and run the whole test suite: lint, import contracts, unit, component and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
exec python -m pytest "$@"
