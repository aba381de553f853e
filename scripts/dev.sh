#!/usr/bin/env bash
# Set up and run agentplatform on embedded PostgreSQL and Redis (or DATABASE_URI / REDIS_URI if set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python manage.py dev "$@"
