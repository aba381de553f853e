#!/usr/bin/env bash
# Set up and run the whole test suite: lint, import contracts, unit, component and integration tests.
# Installs the runtime, the test tooling and the local embedding model (the semantic-search tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt requirements-dev.txt requirements-embeddings.txt
. .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
exec python -m pytest "$@"
