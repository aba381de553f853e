#!/usr/bin/env bash
# Set up and run the whole test suite: lint, import contracts, unit, component and integration tests.
# Installs the runtime, OpenTelemetry (the tracing tests), the test tooling, the local embedding model (the semantic-search tests use it),
# Chromium for the admin's browser tests and the official JS client (with Node when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt requirements-otel.txt requirements-dev.txt requirements-embeddings.txt
apt_install() {  # Debian packages, on a machine that has apt (the others bring their own)
  command -v apt-get >/dev/null || return 0
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
# The admin's browser tests (tests/browser) drive Debian's Chromium through Playwright: installed once, here.
[ -x /usr/bin/chromium ] || apt_install chromium
# The official JS client (tests/js, pinned by its package-lock.json) for tests/integration/test_js_client.py: Node
# from Debian when the machine has none (it needs 20.19+: Debian 13's; Debian 12's 18 is too old, and the test
# says so), the packages again whenever the lock changed.
command -v npm >/dev/null || apt_install nodejs npm
js_stamp=tests/js/node_modules/.lock.sha
if [ "$(cat "$js_stamp" 2>/dev/null)" != "$(sha256sum tests/js/package-lock.json)" ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum tests/js/package-lock.json > "$js_stamp"
fi
. .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
exec python -m pytest "$@"
