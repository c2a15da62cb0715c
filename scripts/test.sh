#!/usr/bin/env bash
# Run every test: unit, integration (embedded Redis + SQLite, and the machine's Redis and
# PostgreSQL when they answer on 127.0.0.1), and end-to-end in a real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check storefront recommender tests bench wsgi.py
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
