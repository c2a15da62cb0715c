"""The app factory pays one-time costs at boot (storefront._warm_up), in the process that then
forks the workers, not on a shopper's first page: among them the holiday library's shared
tables, which the first country's calendar loads (about 0.1 s; each further country ~1 ms)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from storefront import create_app
from storefront.signals import clock
before = clock._year_holidays.cache_info().currsize
create_app({"home": sys.argv[1], "database_url": sys.argv[2], "redis_url": sys.argv[3]})
print(json.dumps([before, clock._year_holidays.cache_info().currsize]))
"""


def test_the_app_factory_loads_a_holiday_table_before_any_page(shop_env):
    # a fresh interpreter: this test process has long since loaded tables for other tests
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(shop_env["home"]), shop_env["database_url"]]
        + [shop_env["redis_url"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == 0 and after >= 1
