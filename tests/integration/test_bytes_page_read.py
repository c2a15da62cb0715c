"""The session read brings a cached page back as bytes, undecoded, and everything else as
text, exactly as a read without the page has it: on one server (the session script reads the
page) and on two (the page script on the cache server). Its EVALSHA is packed by hiredis
directly: the same bytes as redis-py's own packing."""

from __future__ import annotations

import pytest
import redis

from storefront.redis_client import (
    CART,
    FRAGMENT,
    PAGE,
    PER_VISITOR,
    TRAITS,
    VIEWS,
    VISITOR,
    _pack,
    connect,
    get_many,
    key,
    parts_key,
    set_many,
    start_embedded,
    visitor_keys,
)
from storefront.session import SessionStore

PAGE_TEXT = (
    "stamp\x1emodel\x1erules\x1e<p>Crème brûlée, 12 €, “Grüße” — 東京</p><!--clock-->x<!--/clock-->"
)


def test_evalsha_is_packed_as_redis_py_packs_it(embedded_redis_url):
    conn = connect(embedded_redis_url).connection_pool.make_connection()
    keys = visitor_keys("vis-ü", (VIEWS, CART))
    command = ("EVALSHA", "0" * 40, len(keys), *keys, 30, "1", "", "p", 512, "{v:é}")
    assert _pack(command) == b"".join(conn.pack_command(*command))


def test_visitor_keys_are_the_keys_key_makes():
    for prefix in PER_VISITOR - {FRAGMENT}:
        for visitor in ("abc", "{v:abc}", "vis-ü"):
            assert visitor_keys(visitor, (prefix,)) == [key(prefix, visitor)]
    page = key(PAGE, "abc", "0123")
    assert parts_key(page) == "sf:pparts:{v:abc}:0123"


def _write_session(client, visitor: str) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.lpush(key(VIEWS, visitor), "P1", "P2")
    pipe.hset(key(CART, visitor), "P3", 2)
    pipe.hset(key(VISITOR, visitor), mapping={"first_seen": "100", "last_seen": "200"})
    pipe.hset(key(TRAITS, visitor), mapping={"cat:Décor de Noël": "1.5", "band:mid": "0.25"})
    pipe.execute()


@pytest.mark.parametrize("servers", ["one", "two"])
def test_the_page_comes_back_as_bytes_and_the_session_as_text(
    embedded_redis_url, tmp_path_factory, servers
):
    sessions = connect(embedded_redis_url)
    cache = sessions
    if servers == "two":
        cache = connect(start_embedded(tmp_path_factory.mktemp("cache"), "cache"), name="cache")
    store = SessionStore(sessions, 3600, cache=cache)
    visitor = f"bytes-read-{servers}"
    _write_session(sessions, visitor)
    page_key = key(PAGE, visitor, "feed")
    cache.set(page_key, PAGE_TEXT, ex=60)
    try:
        with_page = store.read(visitor, page_key)
        alone = store.read(visitor, ledger="1")
        assert with_page.cached_page == PAGE_TEXT.encode()
        assert with_page.available and with_page.views == ("P2", "P1") == alone.views
        assert with_page.cart == {"P3": 2} == alone.cart
        assert with_page.traits_raw == alone.traits_raw
        assert with_page.traits_raw["cat:Décor de Noël"] == "1.5"
        assert (with_page.first_seen, with_page.last_seen) == (100.0, 200.0)
        assert with_page.version == alone.version == 0
        assert with_page.cached_fragments is None
        assert dict(with_page.exposures or {}) == dict(alone.exposures or {})
    finally:
        sessions.delete(*sessions.keys(f"sf:*:{{v:{visitor}}}"))
        cache.delete(page_key)


def test_set_many_writes_each_with_its_ttl_and_survives_an_error(embedded_redis_url):
    """page_cache's write behind the response: every SET in one round trip, each with its TTL;
    an error reply (here an invalid TTL) is raised after the others were written, and the
    pooled connection is fit for the next command."""
    client = connect(embedded_redis_url)
    keys = [f"sf:frag:bytes-set-many-{i}" for i in range(3)]
    set_many(client, [(keys[0], "één", 60), (keys[1], b"\xe2\x82\xac bytes", 120)])
    assert client.get(keys[0]) == "één" and client.get(keys[1]) == "€ bytes"
    assert 0 < client.ttl(keys[0]) <= 60 < client.ttl(keys[1]) <= 120
    with pytest.raises(redis.ResponseError):
        set_many(client, [(keys[0], "a", 60), (keys[1], "b", 0), (keys[2], "c", 60)])
    assert client.get(keys[0]) == "a" and client.get(keys[2]) == "c"
    assert client.ping()
    client.delete(*keys)


def test_get_many_reads_as_mget_and_keeps_the_connection_fit(embedded_redis_url):
    """The fragment read's MGET past redis-py's command path: values decoded as the client's
    own mget decodes them, None where a key is missing; a wrong-type error is raised and the
    pooled connection stays fit for the next command."""
    client = connect(embedded_redis_url)
    keys = [f"sf:frag:bytes-get-many-{i}" for i in range(3)]
    client.set(keys[0], "één")
    client.set(keys[2], "€ {json}")
    assert get_many(client, keys) == client.mget(keys) == ["één", None, "€ {json}"]
    assert get_many(client, keys[1:2]) == [None]
    client.rpush(keys[1], "x")
    assert get_many(client, keys) == ["één", None, "€ {json}"]  # MGET: a list reads as nil
    assert client.ping()
    client.delete(*keys)
