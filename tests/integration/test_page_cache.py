"""Whole pages per visitor (storefront/page_cache.py): a page that nothing has changed is
served from one Redis read, and everything that changes a page rebuilds it."""

from __future__ import annotations

import re

import pytest

from storefront import create_app
from tests.helpers import slots
from tests.integration.rules_support import clean_rules, publish  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def _per_visitor_pages(monkeypatch):
    """These tests follow the per-visitor page cache with visitors who have no state of their
    own, whose pages the worker's memo would serve instead (page_memo.py,
    tests/integration/test_stateless_pages.py): the memo is off here."""
    monkeypatch.setenv("STOREFRONT_PAGE_MEMO_ENTRIES", "0")


DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def hit(response) -> bool:
    return "page-hit" in response.headers.get("Server-Timing", "")


def without_clock(html: str) -> str:
    return re.sub(r"<!--clock-->.*?<!--/clock-->", "", html)


def test_an_unchanged_page_is_served_whole_and_a_view_rebuilds_it(client, app):
    h = {"User-Agent": DESKTOP}
    first = client.get("/", headers=h)  # a new visitor: nothing cached yet
    built = client.get("/", headers=h)
    again = client.get("/", headers=h)
    assert not hit(first) and not hit(built) and hit(again)
    assert without_clock(again.get_data(True)) == without_clock(built.get_data(True))
    assert "<!--clock-->" in again.get_data(True)
    for name in ("X-Model-Version", "X-Rules-Version", "Cache-Control", "Vary"):
        assert again.headers[name] == built.headers[name]

    def listed(response) -> list[tuple[str, str]]:  # every header, in order (the clock's day
        # may change the length, the timings change)
        return [(k, v) for k, v in response.headers if k not in ("Server-Timing", "Content-Length")]

    assert listed(again) == listed(built)
    assert again.headers["Content-Length"] == str(len(again.get_data()))
    r = app.extensions["redis"]
    keys = list(r.scan_iter("sf:page:*"))
    assert keys and all(0 < r.ttl(k) <= 300 for k in keys)
    # another device of the same visitor gets its own page
    assert not hit(client.get("/", headers={"User-Agent": PHONE}))
    # a view changes the session: the next page is rebuilt and shows it
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": "page-cache-view-1", "type": "view", "product_id": pid, "ts": 1733400000000}
    assert client.post("/events", json={"events": [event]}).status_code == 202
    after = client.get("/", headers=h)
    assert not hit(after) and "because-you-viewed" in slots(after.get_data(True))
    assert hit(client.get("/", headers=h))


def test_a_hit_is_one_script_reading_the_session_and_the_page(client, app, monkeypatch):
    h = {"User-Agent": DESKTOP}
    client.get("/c/christmas", headers=h)
    client.get("/c/christmas", headers=h)
    r = app.extensions["redis"]

    def calls() -> dict[str, int]:
        stats = r.info("commandstats")
        return {k: v["calls"] for k, v in stats.items() if k != "cmdstat_info"}

    def hit_reads() -> dict[str, int]:
        before = calls()
        assert hit(client.get("/c/christmas", headers=h))
        after = calls()
        return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}

    # this worker noted the visitor's session on their last page and their browser's state is
    # unchanged (page_memo.py): one command, the page script, reading the page's parts record
    # and the page; no session read, no MGET of fragments, no SET
    assert hit_reads() == {"cmdstat_evalsha": 1, "cmdstat_get": 2}
    shipped = app.config["SETTINGS"]
    monkeypatch.setitem(
        app.config, "SETTINGS", shipped.model_copy(update={"page_memo_note_seconds": 0})
    )
    # without notes: one command from the client (the session script), which reads the
    # session's seven keys (views and what was bought this session: the two lists), the page's
    # parts record (built at this session version: the page is wanted, not its fragments) and
    # the page; nothing else
    assert hit_reads() == {
        "cmdstat_evalsha": 1,
        "cmdstat_lrange": 2,
        "cmdstat_hgetall": 4,
        "cmdstat_get": 3,
    }


def test_publishing_rules_rebuilds_the_page(client, app, clean_rules):  # noqa: F811
    h = {"User-Agent": DESKTOP}
    client.get("/", headers=h)
    client.get("/", headers=h)
    assert hit(client.get("/", headers=h))
    publish(
        app,
        [
            {
                "name": "Hide trending",
                "when": {"page": "home"},
                "then": {"remove": ["trending"]},
            }
        ],
    )
    rebuilt = client.get("/", headers=h)
    assert not hit(rebuilt) and "trending" not in slots(rebuilt.get_data(True))


def test_the_page_cache_can_be_switched_off(shop_env):
    app = create_app(
        {
            "home": shop_env["home"],
            "database_url": shop_env["database_url"],
            "redis_url": shop_env["redis_url"],
            "testing": True,
            "page_cache_ttl": 0,
        }
    )
    c = app.test_client()
    assert not any(hit(c.get("/")) for _ in range(3))


def test_what_locates_the_visitor_is_part_of_the_page(client):
    h = {"User-Agent": DESKTOP, "CF-IPCountry": "GB", "CF-IPCity": "London"}
    client.get("/", headers=h)
    client.get("/", headers=h)
    assert hit(client.get("/", headers=h))
    moved = client.get("/", headers={**h, "CF-IPCity": "Leeds"})  # same visitor, elsewhere
    assert not hit(moved) and "Leeds" in moved.get_data(True)
    abroad = client.get("/", headers={**h, "CF-IPCountry": "FR", "CF-IPCity": "Paris"})
    assert not hit(abroad) and "France" in abroad.get_data(True)
    privacy = client.get("/", headers={**h, "Sec-GPC": "1"})
    assert not hit(privacy)


def test_every_cached_page_type_goes_out_warm_as_it_went_out_built(client, app):
    """Each cacheable page type, built then served whole: the same body (the clock aside) and
    the same WSGI headers in the same order (Server-Timing aside, Content-Length the body's),
    with a phone's and a located visitor's headers too (docs/benchmarks.md, wip-warm2: a page
    from the cache sends its headers as they stand)."""
    catalog = app.extensions["models"].get().catalog
    pid = next(iter(catalog.products))
    slug = next(iter(catalog.by_category))
    paths = ("/", f"/c/{slug}", f"/c/{slug}?page=2", f"/p/{pid}", "/search?q=bag")
    client.get("/cart")  # the visitor's cookie: pages are cached for a known visitor only
    for h in ({"User-Agent": DESKTOP}, {"User-Agent": PHONE, "CF-IPCountry": "DE"}):
        for path in paths:
            # a product page's form token starts the Flask session (a new cookie: a new key),
            # so its first copy may not be kept under the key the next request has
            built, again = None, client.get(path, headers=h)
            for _ in range(3):
                if hit(again):
                    break
                built, again = again, client.get(path, headers=h)
            assert built is not None and not hit(built) and hit(again), path
            assert again.status_code == built.status_code == 200
            body = again.get_data()
            assert without_clock(body.decode()) == without_clock(built.get_data(True)), path
            names = [k for k, _ in again.headers]
            assert names == [k for k, _ in built.headers], path
            assert [
                (k, v) for k, v in again.headers if k not in ("Server-Timing", "Content-Length")
            ] == [
                (k, v) for k, v in built.headers if k not in ("Server-Timing", "Content-Length")
            ], path
            assert again.headers["Content-Length"] == str(len(body))


def test_a_page_reached_from_another_page_or_browser_build_is_the_same_page(either_store):
    """A browser sends a new Referer with every click, and its User-Agent changes with each
    update; the page sees them only through the stamp's channel (the visit's), device and
    operating system (page_cache.STAMPED), so neither re-keys a visitor's page: on both stores,
    a page reached again from other pages, or from a search engine within the same visit, or
    from the next build of the browser, is the warm copy of the first."""
    app = either_store
    catalog = app.extensions["models"].get().catalog
    pids = list(catalog.products)
    paths = ["/", f"/p/{pids[0]}", f"/c/{next(iter(catalog.by_category))}"]
    c = app.test_client()
    google = {"User-Agent": DESKTOP, "Referer": "https://www.google.com/search?q=gifts"}
    assert c.get("/cart", headers=google).status_code == 200  # the visit comes from a search
    event = {"id": "stamped-view-1", "type": "view", "product_id": pids[1], "ts": 1733400000000}
    assert c.post("/events", json={"events": [event]}).status_code == 202
    # a product page's basket form sets the Flask session cookie, which keys the pages after it
    assert c.get(f"/p/{pids[2]}", headers={"User-Agent": DESKTOP}).status_code == 200
    next_build = DESKTOP.replace("Chrome/120.0", "Chrome/121.0.6167.85")
    for path in paths:
        built = c.get(path, headers={"User-Agent": DESKTOP, "Referer": "http://localhost/"})
        assert not hit(built), path
        for h in (
            {"User-Agent": DESKTOP, "Referer": "http://localhost/cart"},
            {"User-Agent": DESKTOP, "Referer": "https://www.bing.com/search?q=gifts"},
            {"User-Agent": next_build},
        ):
            again = c.get(path, headers=h)
            assert hit(again), (path, h)
            assert without_clock(again.get_data(True)) == without_clock(built.get_data(True))
    # another kind of device is another page (its stamp differs), built for it
    phone = c.get("/", headers={"User-Agent": PHONE})
    assert not hit(phone) and hit(c.get("/", headers={"User-Agent": PHONE}))


def test_a_returning_browser_without_its_session_cookie_gets_a_form_it_can_post(
    either_store, monkeypatch
):
    """The Flask session cookie (the form token's secret) ends with the browser, the visitor's
    own cookie does not: a returning visitor, or a browser refusing the session cookie, asks
    for a page with no session cookie again. A page whose token that request minted is not
    kept under a key holding the cookie as sent (none), so such a request is built anew with a
    secret of its own and its basket form posts; once the browser keeps its cookie, its pages
    are kept and served warm. On both stores; the product page is the cached page type with a
    form (page_cache.CACHEABLE)."""
    app = either_store
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    pids = list(app.extensions["models"].get().catalog.products)
    c = app.test_client()
    h = {"User-Agent": DESKTOP}
    assert c.get("/cart", headers=h).status_code == 200  # the visitor's cookie
    event = {
        "id": "closed-browser-view-1",
        "type": "view",
        "product_id": pids[1],
        "ts": 1733400000000,
    }
    assert c.post("/events", json={"events": [event]}).status_code == 202
    for path in (f"/p/{pids[0]}", f"/p/{pids[2]}"):
        for _ in range(2):  # a session of the browser, then the next after it was closed
            c.delete_cookie("session")
            page = c.get(path, headers=h)
            assert not hit(page), path
            assert [v for v in page.headers.getlist("Set-Cookie") if v.startswith("session=")]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
        assert token, path
        added = c.post("/cart", data={"product_id": pids[0], "quantity": 1, "csrf_token": token[1]})
        assert added.status_code == 303, path
        # the browser keeps its cookie now: the page is kept for it and served warm
        kept = c.get(path, headers=h)
        assert not hit(kept) and hit(c.get(path, headers=h)), path
