"""The shop on a real Redis Cluster (6 redis-server processes: 3 primaries, 3 replicas): every
page and event works, no command ever spans hash slots (CROSSSLOT), one visitor's keys share one
slot while shared keys spread, the session read stays one round trip, and a cache cluster that
is full evicts fragments and pages but never a session (docs/operations.md, "Redis Cluster")."""

from __future__ import annotations

import re
import time

import redis

from storefront.redis_client import CACHE_SERVER, SESSION_SERVER
from tests.helpers import shop_app
from tests.multinode.cluster_support import start_cluster
from tests.multinode.conftest import CACHE_PORTS

SMALL_CACHE = 4 * 1024 * 1024  # bytes per cache node: an empty redis-server uses ~1 MB of it


def in_strategy(html: str, strategy: str) -> list[str]:
    """The products of the slot that a strategy fills (data-strategy), in order."""
    m = re.search(rf'<section[^>]*data-strategy="{strategy}".*?</section>', html, re.S)
    return re.findall(r'data-product-id="([^"]+)"', m.group(0)) if m else []


def visitor_of(client) -> str:
    cookie = client.get_cookie("sid")
    assert cookie is not None
    return cookie.value.rsplit(".", 1)[0]


def node_stats(cluster, section: str) -> dict[int, dict]:
    return {
        p: redis.Redis(port=p, decode_responses=True).info(section)
        for p, proc in cluster.procs.items()
        if proc.poll() is None
    }


def calls(cluster, command: str) -> int:
    return sum(
        s.get(f"cmdstat_{command}", {}).get("calls", 0)
        for s in node_stats(cluster, "commandstats").values()
    )


def view(client, pid: str, n: int) -> None:
    event = {
        "id": f"cl-{n}-{pid}",
        "type": "view",
        "product_id": pid,
        "ts": int(time.time() * 1000),
    }
    assert client.post("/events", json={"events": [event]}).status_code == 202


def test_the_shop_runs_on_a_redis_cluster(store, redis_cluster):
    app_gen = shop_app(store["home"], store["database_url"], redis_cluster.url)
    app = next(app_gen)
    try:
        catalog = app.extensions["models"].get().catalog
        products = list(catalog.products)
        slug = next(iter(catalog.by_category))
        client = app.test_client()
        for path in ("/", f"/p/{products[0]}", f"/c/{slug}", "/search?q=a", "/cart", "/healthz"):
            assert client.get(path).status_code == 200, path
        before = in_strategy(client.get("/").get_data(as_text=True), "because_you_viewed")
        assert client.post("/cart", data={"product_id": products[1], "quantity": 2}).status_code
        for n, pid in enumerate(products[2:5]):
            view(client, pid, n)
        after = in_strategy(client.get("/").get_data(as_text=True), "because_you_viewed")
        assert after and after != before  # the views changed the very next page
        assert (
            redis_cluster.client().lrange(f"sf:views:{{v:{visitor_of(client)}}}", 0, -1)
            == (products[2:5][::-1])
        )
        assert products[1] in client.get("/cart").get_data(as_text=True)

        # a cached page: the session read and the page come back in ONE script call
        client.get("/")
        for p in redis_cluster.procs:
            redis.Redis(port=p).config_resetstat()
        warm = client.get("/")
        assert warm.status_code == 200 and "page-hit" in warm.headers["Server-Timing"]
        reads = calls(redis_cluster, "evalsha") + calls(redis_cluster, "eval")
        assert reads == 1, node_stats(redis_cluster, "commandstats")
        assert calls(redis_cluster, "mget") == 0

        admin = redis_cluster.client()
        visitor = visitor_of(client)
        mine = list(admin.scan_iter(f"*{{v:{visitor}}}*", count=1000))
        assert len(mine) >= 6, mine  # views, cart, version, facts, traits, page, fragments...
        assert len({admin.keyslot(k) for k in mine}) == 1
        shared = [k for k in admin.scan_iter("sf:frag:*", count=1000) if "{v:" not in k]
        assert shared
        owners = {admin.get_node_from_key(k).port for k in shared}
        assert len(owners) > 1, "shared fragments should spread over the primaries"
        for k in admin.scan_iter("sf:*", count=1000):
            assert admin.ttl(k) != -1 or admin.type(k) == "stream", k

        errors = node_stats(redis_cluster, "errorstats")
        assert not [p for p, s in errors.items() if "errorstat_CROSSSLOT" in s], errors
    finally:
        next(app_gen, None)


def test_a_full_cache_cluster_evicts_fragments_and_keeps_every_session(
    shop_env, redis_cluster, tmp_path
):
    """Sessions on the 6-node cluster (SESSION_SERVER: noeviction), fragments and pages on a
    3-node cache cluster (CACHE_SERVER: allkeys-lru) shrunk to 4 MB a node and filled many
    times over: fragments are evicted, no session key is, and every cart is intact."""
    cache = start_cluster(
        tmp_path,
        CACHE_PORTS,
        replicas=0,
        config={**CACHE_SERVER, "maxmemory": str(SMALL_CACHE), "save": ""},
    )
    for p in redis_cluster.procs:
        redis.Redis(port=p).config_set("maxmemory-policy", SESSION_SERVER["maxmemory-policy"])
    app_gen = shop_app(
        shop_env["home"], shop_env["database_url"], redis_cluster.url, cache_redis_url=cache.url
    )
    app = next(app_gen)
    try:
        products = list(app.extensions["models"].get().catalog.products)
        shoppers = []
        for i in range(8):
            client = app.test_client()
            assert client.post("/cart", data={"product_id": products[i], "quantity": 1})
            view(client, products[20 + i], i)
            for path in ("/", f"/p/{products[40 + i]}"):
                assert client.get(path).status_code == 200
            shoppers.append((client, products[i]))
        sessions_r, cache_r = redis_cluster.client(), cache.client()
        session_keys = [k for k in sessions_r.scan_iter("sf:*", count=1000) if ":limit" not in k]
        first = [k for k in cache_r.scan_iter("sf:frag:*", count=1000)]
        assert session_keys and first
        filler = "x" * 4096
        for n in range(0, 6000, 50):  # 24 MB into 12 MB, in small batches (a big pipeline's
            pipe = cache_r.pipeline(transaction=False)  # own buffer counts as used memory)
            for j in range(n, n + 50):
                pipe.set(f"sf:frag:filler:{j}", filler, ex=600)
            pipe.execute()
        for client, _ in shoppers:  # the shop keeps writing its own fragments and pages
            assert client.get("/").status_code == 200
        evicted = sum(s["evicted_keys"] for s in node_stats(cache, "stats").values())
        gone = sum(1 for k in first if not cache_r.exists(k))
        print(f"\ncache cluster: {evicted} keys evicted; {gone} of {len(first)} first fragments")
        assert evicted > 3000 and gone > 0
        assert sum(s["evicted_keys"] for s in node_stats(redis_cluster, "stats").values()) == 0
        assert not [k for k in session_keys if not sessions_r.exists(k)]
        for client, pid in shoppers:
            assert f'data-product-id="{pid}"' in client.get("/cart").get_data(as_text=True)
    finally:
        next(app_gen, None)
        cache.stop()


HUNG_PORTS = list(range(7420, 7423))  # 3 primaries, no replicas: stopped (SIGSTOP) below


def test_a_hung_cluster_degrades_pages_and_the_rate_limiter_after_one_bounded_wait(store, tmp_path):
    """A cluster whose nodes stop answering (SIGSTOP: connections open, no replies) costs the
    first call one bounded wait and opens the session store's breaker; pages are then served
    at once without Redis, and nothing is rate-limited. Both ways in: the rate limiter's own
    cluster client (the limits library's, bounded by the shop's Redis timeout and behind the
    same breaker: rate_limits.py; before, it had no timeout and hung every sign-in, API call and
    token check with the cluster), and a page (before, redis-py's RedisClusterUnreachableError,
    which is not a RedisError, failed every page after a 1.5-2 s wait, breaker never opened)."""
    import signal
    import threading

    from storefront import rate_limits
    from storefront.shop.account import PER_ACCOUNT

    hung = start_cluster(tmp_path / "hung", HUNG_PORTS, replicas=0)
    app_gen = shop_app(store["home"], store["database_url"], hung.url)
    app = next(app_gen)
    breaker = app.extensions["redis"].breaker
    checks = [(PER_ACCOUNT, ("someone@example.com",))]

    def stop(sig) -> None:
        for proc in hung.procs.values():
            proc.send_signal(sig)

    def timed(first: str, results: list) -> None:
        client = app.test_client()
        order = (
            ("limiter", "page", "page", "page")
            if first == "limiter"
            else ("page", "limiter", "page")
        )
        for call in order:
            t = time.monotonic()
            if call == "limiter":
                with app.app_context():
                    got = rate_limits.wait_seconds(checks) + rate_limits.hit(checks)
            else:
                got = client.get("/").status_code
            results.append((got, time.monotonic() - t))

    def while_hung(first: str) -> list:
        results: list = []
        worker = threading.Thread(target=timed, args=(first, results), daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), f"hung with the cluster: {results}"
        return results

    try:
        with app.app_context():
            assert rate_limits.hit(checks) == 0  # counted on the cluster
            counter = rate_limits.redis_key(PER_ACCOUNT, "someone@example.com")
        assert hung.client().get(counter) == "1"
        assert app.test_client().get("/").status_code == 200
        for first in ("limiter", "page"):
            stop(signal.SIGSTOP)
            results = while_hung(first)
            expected = [0, 200, 200, 200] if first == "limiter" else [200, 0, 200]
            assert [got for got, _ in results] == expected, results  # nothing limited
            assert results[0][1] < 10, results  # the cluster client's retries, each bounded
            assert all(s < 0.5 for _, s in results[1:]), results  # the breaker: no wait
            assert breaker.is_open
            probe = app.test_client().get("/health/ready")  # out of rotation, saying why
            assert probe.status_code == 503 and "redis" in probe.get_json()["failing"]
            stop(signal.SIGCONT)
            deadline = time.monotonic() + 30
            while breaker.is_open and time.monotonic() < deadline:  # its probe closes it
                time.sleep(0.1)
            assert not breaker.is_open
            assert app.test_client().get("/").status_code == 200
            assert app.test_client().get("/health/ready").status_code == 200
    finally:
        stop(signal.SIGCONT)
        next(app_gen, None)
        hung.stop()


def test_a_callers_cross_slot_mistake_is_raised_and_opens_no_breaker(shop_env, redis_cluster):
    """Only a cluster that no node answers is an outage (redis_client._guarded_call): redis-py's
    other RedisClusterExceptions, such as a command whose keys span slots, are the caller's
    mistake and reach it as they are, with the breaker left closed."""
    import pytest

    app_gen = shop_app(shop_env["home"], shop_env["database_url"], redis_cluster.url)
    app = next(app_gen)
    try:
        client = app.extensions["redis"]
        keys = [f"sf:test:{n}" for n in range(20)]  # 20 keys: more than one slot
        with pytest.raises(redis.exceptions.RedisClusterException) as raised:
            client.execute_command("MGET", *keys)
        assert not isinstance(raised.value, redis.ConnectionError)
        assert not client.breaker.is_open
        assert app.test_client().get("/").status_code == 200
    finally:
        next(app_gen, None)
