"""XSS payloads in product names and descriptions, search queries and the context: a real
browser renders them as text and runs none of them."""

from __future__ import annotations

import csv
import os
import signal
from urllib.parse import quote

import pytest

from tests.conftest import run_cli
from tests.integration.test_crash_safety import free_port, start_server

pytestmark = pytest.mark.e2e

PAYLOADS = [
    "<script>window.__xss=1</script> MUG",
    '<img src=x onerror="window.__xss=1"> LANTERN',
    '"><svg onload=window.__xss=1> CANDLE',
    "JAVASCRIPT:window.__xss=1 HEART",
    "</title><script>window.__xss=1</script> BAG",
]


@pytest.fixture(scope="module")
def hostile_shop(tmp_path_factory):
    """A shop whose catalog was imported from a file full of script payloads."""
    home = tmp_path_factory.mktemp("xss")
    path = home / "orders.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Invoice",
                "StockCode",
                "Description",
                "Quantity",
                "InvoiceDate",
                "Price",
                "Customer ID",
                "Country",
            ]
        )
        n = 0
        for c in range(40):
            for i, title in enumerate(PAYLOADS * 2):
                n += 1
                w.writerow(
                    [
                        f"{500000 + n // 3}",
                        f"X{i:03d}",
                        title if i < 5 else f"PLAIN {i}",
                        2,
                        f"2011-11-{1 + c % 28:02d} 10:00:00",
                        1.5,
                        20000 + c % 9,
                        "United Kingdom",
                    ]
                )
    env = {"STOREFRONT_REDIS_URL": "", "STOREFRONT_DATABASE_URL": ""}
    run_cli(home, "import", "orders", str(path), env=env)
    run_cli(home, "train", env=env)
    port = free_port()
    proc = start_server(
        {"home": home, "database_url": f"sqlite:///{home / 'storefront.db'}", "redis_url": ""},
        port,
        home / "server.log",
    )
    yield f"http://127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def no_script_ran(page) -> None:
    assert page.evaluate("window.__xss") is None


def test_payloads_render_as_text_everywhere(hostile_shop, new_page):
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_shop + "/")
    no_script_ran(page)
    assert "<script>window.__xss=1</script>" in page.locator("main").inner_text()
    for code in ("X000", "X001", "X002", "X004"):
        page.goto(f"{hostile_shop}/p/{code}")
        no_script_ran(page)
        assert "window.__xss" in page.locator("h1").inner_text()  # shown, as text
    for query in ("<script>window.__xss=1</script>", '"><img src=x onerror=window.__xss=1>'):
        page.goto(f"{hostile_shop}/search?q={quote(query)}")
        no_script_ran(page)
        assert query in page.locator("h1").inner_text()
    page.goto(f"{hostile_shop}/img/p/X001.svg")
    no_script_ran(page)
    page.goto(f"{hostile_shop}/api/v1/fragments/trending")
    no_script_ran(page)
    assert dialogs == []
