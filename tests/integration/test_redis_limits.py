"""Redis within limits, with real redis-server processes: a full cache evicts fragments and
pages but never a session, and requests without a visitor cookie (bots, health checks) leave
nothing lasting behind."""

from __future__ import annotations

import re

import redis

from storefront import rate_limits
from storefront.redis_client import CACHE_SERVER, SESSION_SERVER
from storefront.session import PROVISIONAL_TTL
from tests.integration.redis_support import start_redis_server, stop
from tests.integration.test_faults import app_for

SMALL_CACHE = 2 * 1024 * 1024  # bytes: an empty redis-server uses about 0.9 MB of it


def _visitor_of(response) -> str:
    """The visitor id in the signed `sid` cookie the response sets (value.signature)."""
    m = re.search(r"\bsid=([^;]+)", response.headers.get("Set-Cookie", ""))
    assert m, response.headers
    return m.group(1).rsplit(".", 1)[0]


def test_requests_without_a_cookie_leave_nothing_lasting(shop_env):
    """200 cookie-less requests to several pages (bots, health checks): every key they leave
    expires within minutes (a visitor's record after PROVISIONAL_TTL, a fragment after
    STOREFRONT_FRAGMENT_TTL), none is without a TTL. Before, each page left a 30-day visitor
    record. A visitor who comes back with the cookie gets their record for the session TTL."""
    proc, url = start_redis_server()
    try:
        app = app_for(shop_env, redis_url=url)
        catalog = app.extensions["models"].get().catalog
        pid = next(iter(catalog.products))
        slug = next(iter(catalog.by_category))
        pages = ["/", f"/c/{slug}", f"/p/{pid}", "/search?q=mug", "/cart", "/healthz"]
        client = app.test_client(use_cookies=False)
        visitors = set()
        for i in range(200):
            response = client.get(pages[i % len(pages)])
            assert response.status_code == 200, pages[i % len(pages)]
            if "Set-Cookie" in response.headers:
                visitors.add(_visitor_of(response))
        assert len(visitors) > 150  # every shop page met a new visitor
        r = redis.Redis.from_url(url, decode_responses=True)
        ttls = {k: r.ttl(k) for k in r.scan_iter("*", count=1000)}
        assert ttls, "the shop cached nothing at all"
        assert not [k for k, t in ttls.items() if t == -1]
        bound = max(PROVISIONAL_TTL, app.config["SETTINGS"].fragment_ttl)
        assert max(ttls.values()) <= bound, sorted(ttls.items(), key=lambda kv: -kv[1])[:5]
        records = [k for k in ttls if k.startswith("sf:visitor:")]
        print(
            f"\n200 cookie-less requests: {len(ttls)} keys, {len(records)} visitor records, "
            f"longest TTL {max(ttls.values())} s"
        )

        returning = app.test_client()  # comes back with the cookie: the record becomes lasting
        visitor = _visitor_of(returning.get("/"))
        assert 0 < r.ttl(f"sf:visitor:{{v:{visitor}}}") <= PROVISIONAL_TTL
        assert returning.get("/").status_code == 200
        assert r.ttl(f"sf:visitor:{{v:{visitor}}}") > PROVISIONAL_TTL
        assert "provisional" not in r.hgetall(f"sf:visitor:{{v:{visitor}}}")
    finally:
        stop(proc)


def test_a_full_cache_evicts_fragments_and_keeps_every_session(shop_env):
    """The shipped settings (redis_client.SESSION_SERVER, CACHE_SERVER) on real servers, the
    cache shrunk to 2 MB and filled many times over: fragments and pages are evicted, every
    session key survives, and pages keep answering 200 with each visitor's cart intact."""
    sessions_proc, sessions_url = start_redis_server(SESSION_SERVER)
    cache_proc, cache_url = start_redis_server({**CACHE_SERVER, "maxmemory": str(SMALL_CACHE)})
    try:
        app = app_for(shop_env, redis_url=sessions_url, cache_redis_url=cache_url)
        catalog = app.extensions["models"].get().catalog
        products = list(catalog.products)
        sessions_r = redis.Redis.from_url(sessions_url, decode_responses=True)
        cache_r = redis.Redis.from_url(cache_url, decode_responses=True)

        shoppers = []
        for i in range(12):  # each: a cart, a few views, pages with their personal fragments
            client = app.test_client()
            pid = products[i]
            assert client.post("/cart", data={"product_id": pid, "quantity": 1}).status_code == 303
            events = [
                {"id": f"limits-{i}-{j}", "type": "view", "product_id": p, "ts": 1733400000000}
                for j, p in enumerate(products[20 + i : 23 + i])
            ]
            assert client.post("/events", json={"events": events}).status_code == 202
            for path in ("/", f"/p/{products[40 + i]}", "/cart"):
                assert client.get(path).status_code == 200
            shoppers.append((client, pid))
        session_keys = {  # rate counters expire by design within two minutes
            k
            for k in sessions_r.scan_iter("*", count=1000)
            if not k.startswith(f"{rate_limits.KEY_PREFIX}:")
        }
        assert len(session_keys) >= 12 * 4  # views, cart, version, visitor facts, ...
        assert not [k for k in session_keys if k.startswith(("sf:frag:", "sf:page:"))]
        first_fragments = {k for k in cache_r.scan_iter("sf:frag:*", count=1000)}
        assert first_fragments

        filler = "x" * 4096  # fragment-sized values, many times the cache's room
        for n in range(0, 3000, 500):
            pipe = cache_r.pipeline(transaction=False)
            for j in range(n, n + 500):
                pipe.set(f"sf:frag:filler:{j}", filler, ex=600)
            pipe.execute()
        for round_ in range(2):  # and the shop keeps writing its own fragments and pages
            for i, (client, _) in enumerate(shoppers):
                for path in ("/", f"/p/{products[60 + 12 * round_ + i]}"):
                    assert client.get(path).status_code == 200, path

        stats = cache_r.info()
        evicted = stats["evicted_keys"]
        kept = cache_r.dbsize()
        gone = sum(1 for k in first_fragments if not cache_r.exists(k))
        print(
            f"\ncache: {evicted} keys evicted, {kept} kept, used {stats['used_memory']} bytes "
            f"of {SMALL_CACHE}; {gone} of the shop's {len(first_fragments)} first fragments "
            f"evicted; session store: {len(session_keys)} keys, "
            f"{sessions_r.info()['evicted_keys']} evicted"
        )
        assert evicted > 2000 and gone > 0
        assert stats["used_memory"] <= SMALL_CACHE * 1.05
        assert sessions_r.info()["evicted_keys"] == 0
        missing = [k for k in session_keys if not sessions_r.exists(k)]
        assert not missing, missing[:5]
        for client, pid in shoppers:  # every visitor's session is still theirs
            cart = client.get("/cart")
            assert cart.status_code == 200
            assert f'<tr data-product-id="{pid}"' in cart.get_data(as_text=True)
    finally:
        stop(sessions_proc)
        stop(cache_proc)


def test_the_event_stream_is_read_in_bounded_chunks():
    """Deleting a person scans the event stream (up to ~100,000 entries) in chunks, so no one
    call can outlast the client's short timeout; every entry is seen exactly once."""
    from storefront.privacy import _stream_entries

    proc, url = start_redis_server()
    try:
        r = redis.Redis.from_url(url, decode_responses=True)
        ids = [r.xadd("s", {"visitor": f"v{i % 3}"}) for i in range(50)]
        ids += [r.xadd("s", {"visitor": "v9"}, id=f"{10**13}-{n}") for n in range(5)]
        seen = [entry_id for entry_id, _ in _stream_entries(r, "s", chunk=7)]
        assert seen == ids
    finally:
        stop(proc)
