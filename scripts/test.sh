#!/usr/bin/env bash
# Set up and run the whole test suite: lint, import contracts, unit, component and integration tests.
# Installs the runtime, OpenTelemetry (the tracing tests), the test tooling, the local embedding model (the semantic-search tests use it) and
# Chromium for the admin's browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt requirements-otel.txt requirements-dev.txt requirements-embeddings.txt
# The admin's browser tests (tests/browser) drive Debian's Chromium through Playwright: installed once, here.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
. .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
exec python -m pytest "$@"
