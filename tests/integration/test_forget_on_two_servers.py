"""Delete means delete on the shipped default too: sessions and the page cache on two Redis
servers. A visit there leaves keys on both (the session on one; on the other its pages, its
fragments and the session version's mirror, sf:svm:); the shopper's delete on /me removes every
key naming them from both servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storefront.redis_client import SESSION_MIRROR, key
from tests.helpers import shop_app

DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


@pytest.fixture
def app(shop_env, tmp_path_factory) -> Iterator:
    from storefront.redis_client import start_embedded

    cache_url = start_embedded(tmp_path_factory.mktemp("forget-cache"), "cache")
    yield from shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], cache_redis_url=cache_url
    )


def naming(r, visitor: str) -> list[str]:
    return [k for k in r.scan_iter("*", count=1000) if visitor in k]


def test_a_delete_on_me_leaves_no_key_of_the_shopper_on_either_server(app) -> None:
    from storefront.visitor import read_visitor_id

    sessions, cache = app.extensions["redis"], app.extensions["cache"]
    assert cache is not sessions  # two servers, as shipped
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    assert client.get("/", headers=h).status_code == 200
    with app.app_context():
        visitor = read_visitor_id(client.get_cookie("sid").value)
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": "forget-two-1", "type": "view", "product_id": pid, "ts": 1733400000000}
    assert client.post("/events", json={"events": [event]}, headers=h).status_code == 202
    for _ in range(2):  # built, then kept behind the response
        assert client.get("/", headers=h).status_code == 200
    assert cache.get(key(SESSION_MIRROR, visitor)) is not None  # the mirror was written
    assert naming(sessions, visitor) and naming(cache, visitor)  # the check can find them

    deleted = client.post("/me", data={"action": "delete", "value": ""}, headers=h)
    assert deleted.status_code == 303

    assert naming(sessions, visitor) == []
    assert naming(cache, visitor) == []
