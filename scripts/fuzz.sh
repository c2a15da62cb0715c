#!/usr/bin/env bash
# The long fuzz run: 10,000+ generated requests against every JSON endpoint, from the shop's
# own OpenAPI description (no 5xx allowed), and 10,000 rule YAML documents (a rule set or a
# RulesError naming where, never anything else).
# Usage: scripts/fuzz.sh [API examples per operation] [rule examples per test]
#        (ST_EXAMPLES: the schemathesis run's examples per operation, default 1000;
#         EVENT_EXAMPLES: generated event batches, default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
RULES_FUZZ_EXAMPLES="${2:-5000}" .venv/bin/python -m pytest tests/unit/test_rules_fuzz.py \
  -q -p no:cacheprovider
FUZZ_EXAMPLES="${1:-1700}" ST_EXAMPLES="${ST_EXAMPLES:-1000}" \
  EVENT_EXAMPLES="${EVENT_EXAMPLES:-5000}" exec .venv/bin/python -m pytest tests/integration/test_fuzz_api.py \
  -k "sqlite" -q -s -p no:cacheprovider
