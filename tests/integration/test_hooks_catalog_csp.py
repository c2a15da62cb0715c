"""The catalog-images hook reads the snapshot the page stamp read (shop/views._stamp) where
there is one, and its own where not: every shop page of a store with its own picture hosts
allows them, first, built, warm and uncached pages alike."""

from __future__ import annotations

import pytest

from tests.helpers import grocery_shop, shop_app

HOST = "img-src 'self' data: https://images.example.test"


@pytest.fixture(scope="module")
def grocery(tmp_path_factory, embedded_redis_url) -> dict:
    return grocery_shop(tmp_path_factory.mktemp("grocery-csp"), embedded_redis_url)


@pytest.fixture
def app(grocery):
    env = grocery["env"]
    yield from shop_app(
        grocery["home"], env["STOREFRONT_DATABASE_URL"], env["STOREFRONT_REDIS_URL"]
    )


def test_every_kind_of_shop_page_allows_the_catalogs_picture_hosts(app, grocery):
    client = app.test_client()
    pid = next(r["id"] for r in grocery["rows"] if r["available"] == "yes")
    first = client.get("/")  # a new visitor: no page key, so no stamp read the snapshot
    built = client.get("/")
    warm = client.get("/")
    # a visitor with no state of their own: the worker's memo (page_memo.py), a warm page too
    assert "page-memo" in warm.headers["Server-Timing"]
    assert "page-hit" not in built.headers["Server-Timing"]
    product = client.get(f"/p/{pid}")
    for r in (first, built, warm, product, client.get("/cart"), client.get("/search?q=tea")):
        assert r.status_code == 200
        assert HOST in r.headers["Content-Security-Policy"]
    # the same answer when one app context (one `g`) is held around several requests
    with app.app_context():
        again = [client.get(f"/p/{pid}") for _ in range(2)]
    assert all(HOST in r.headers["Content-Security-Policy"] for r in again)
