#!/usr/bin/env bash
# Run the shop: set up, load the demo store and train a model (once), serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export STOREFRONT_HOME="${STOREFRONT_HOME:-$PWD/instance}"
# the demo: sign in as any of the demo store's customers by number (a real shop leaves this off)
export STOREFRONT_DEMO_SIGNIN="${STOREFRONT_DEMO_SIGNIN:-true}"
.venv/bin/storefront db upgrade  # the schema at this release's head (serve refuses any other)
.venv/bin/storefront demo
echo "==> serving on http://${HOST:-127.0.0.1}:${PORT:-8000}"
exec .venv/bin/storefront serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
