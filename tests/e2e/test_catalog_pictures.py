"""A store with its own catalog, in a real browser: the catalog's pictures load from their own
host (the CSP allows it), lazily, into boxes sized in advance, so the layout never shifts, even
when a picture is not square."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Route

from tests.e2e.conftest import ROOT, _server_env, _start, _stop, _tail
from tests.helpers import grocery_orders
from tests.stores.grocery import write_store

# a picture that is wider than tall: it must not change the size of its square box
PICTURE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="250">'
    b'<rect width="400" height="250" fill="#3a7"/></svg>'
)
WATCH = """
window.__shift = 0; window.__csp = [];
new PerformanceObserver(list => { for (const e of list.getEntries())
  if (!e.hadRecentInput) window.__shift += e.value; })
  .observe({type: 'layout-shift', buffered: true});
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def grocery_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("grocery-shop")
    home, runtime = tmp / "home", tmp / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = _server_env(home, runtime)
    paths = write_store(tmp / "files", customers=200, days=120)
    orders_csv, maps, _ = grocery_orders(paths["orders"])
    log = tmp / "build.log"
    for args in (
        ["import", "products", str(paths["products"])],
        ["import", "orders", str(orders_csv), *maps],
        ["train"],
    ):
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "storefront.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        if done.returncode != 0:
            pytest.fail(f"storefront {args[0]} failed:\n{_tail(log)}")
    proc, base = _start(env, tmp / "server.log", home)
    try:
        yield base
    finally:
        _stop(proc, home)


def _serve_pictures(route: Route) -> None:
    route.fulfill(status=200, content_type="image/svg+xml", body=PICTURE)


def test_catalog_pictures_load_lazily_without_layout_shift(
    grocery_server: str, new_page: Callable[..., Page]
):
    page = new_page()
    page.route("https://images.example.test/**", _serve_pictures)
    page.add_init_script(WATCH)
    for path in ("/", "/c/fresh-food"):
        page.goto(grocery_server + path)
        page.wait_for_load_state("networkidle")
        tiles = page.locator("li.tile img")
        assert tiles.count() > 4
        for i in range(tiles.count()):
            img = tiles.nth(i)
            assert img.get_attribute("loading") == "lazy"
            assert img.get_attribute("src").startswith("https://images.example.test/")
        page.mouse.wheel(0, 20_000)  # bring the lazy pictures in
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        loaded = page.evaluate(
            "[...document.querySelectorAll('li.tile img')].filter(i => i.naturalWidth > 0).length"
        )
        assert loaded > 0
        assert page.evaluate("window.__csp") == []
        assert page.evaluate("window.__shift") == 0
    first = page.locator("li.tile a.tile-link").first
    with page.expect_navigation():  # wait for the product page itself, not the old page's idle
        first.click()
    page.wait_for_load_state("networkidle")
    picture = page.locator("article.product img")
    assert picture.get_attribute("src").startswith("https://images.example.test/")
    box = picture.bounding_box()
    assert box and abs(box["width"] - box["height"]) < 1  # square box, whatever the picture
    assert page.evaluate("window.__shift") == 0 and page.evaluate("window.__csp") == []
