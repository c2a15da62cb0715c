"""The shop's rate limits through Flask-Limiter (storefront/rate_limits.py): the same limits,
names and messages as the hand-written windows they replace, Retry-After on every 429, a TTL
on every counter, on the embedded server's unix socket and on a TCP server alike, and a Redis
outage that limits nothing."""

from __future__ import annotations

import time

import pytest

from storefront import rate_limits
from storefront.api import keys
from storefront.visitor import read_visitor_id
from tests.helpers import shop_app
from tests.integration.redis_support import start_redis_server, stop

LIMITS = f"{rate_limits.KEY_PREFIX}:*"


def _events(pid: str, prefix: str, n: int) -> dict:
    return {
        "events": [
            {
                "id": f"{prefix}-{j:04d}",
                "type": "impression",
                "product_id": pid,
                "ts": 1733400000000,
            }
            for j in range(n)
        ]
    }


def _limited_everywhere(app) -> None:
    """An API key's and an events flood's 429s, with Retry-After, and every counter's TTL."""
    client = app.test_client()
    token = keys.create(app.extensions["db"], "tiny", per_minute=2)
    codes = [client.get("/api/v1/pages/home", headers={"X-Api-Key": token}) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    refused = codes[-1]
    assert refused.get_json()["error"] == "Authorization: more than 2 calls a minute"
    assert 0 < int(refused.headers["Retry-After"]) <= 60

    client.get("/")
    pid = next(iter(app.extensions["models"].get().catalog.products))
    first = client.post("/events", json=_events(pid, f"lim-{time.time_ns()}", 4))
    assert first.status_code == 202
    flood = client.post("/events", json=_events(pid, f"lim-{time.time_ns()}", 100))
    assert flood.status_code == 429
    assert flood.get_json()["fields"] == [
        {"field": "events", "message": "more than 100 events a minute"}
    ]
    assert 0 < int(flood.headers["Retry-After"]) <= 60

    r = app.extensions["redis"]
    with app.test_request_context():
        visitor = read_visitor_id(client.get_cookie("sid").value)
    mine = [f"LIMITER/api/{token.split('_')[1]}/", f"LIMITER/events/{visitor}"]
    counters = [k for k in r.scan_iter(LIMITS) if any(m in k for m in mine)]
    assert len(counters) == 2, counters
    assert all(0 < r.ttl(k) <= 60 for k in counters)


@pytest.fixture
def small(shop_env):
    yield from shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], events_per_minute=100
    )


def test_limits_on_the_embedded_servers_unix_socket(small):
    if small.extensions["redis_url"].startswith("unix://"):
        assert rate_limits.storage_uri(small.extensions["redis_url"]).startswith("redis+unix://")
    _limited_everywhere(small)


def test_limits_on_a_tcp_server_and_none_while_it_is_down(shop_env):
    proc, url = start_redis_server()
    try:
        for app in shop_app(shop_env["home"], shop_env["database_url"], url, events_per_minute=100):
            assert rate_limits.storage_uri(url) == url
            _limited_everywhere(app)
            token = keys.create(app.extensions["db"], "one", per_minute=1)
            client = app.test_client()
            headers = {"X-Api-Key": token}
            assert client.get("/api/v1/pages/home", headers=headers).status_code == 200
            assert client.get("/api/v1/pages/home", headers=headers).status_code == 429
            stop(proc)  # Redis gone: nothing is limited (fail open, as before Flask-Limiter)
            assert client.get("/api/v1/pages/home", headers=headers).status_code == 200
            assert client.get("/api/v1/pages/home", headers=headers).status_code == 200
    finally:
        if proc.poll() is None:
            stop(proc)


def test_events_count_in_one_round_trip_even_after_the_script_is_gone(small):
    client = small.test_client()
    client.get("/")
    pid = next(iter(small.extensions["models"].get().catalog.products))
    r = small.extensions["redis"]
    r.script_flush()  # a restarted Redis has no scripts: the window loads it again
    assert client.post("/events", json=_events(pid, f"nos-{time.time_ns()}", 60)).status_code == 202
    over = client.post("/events", json=_events(pid, f"nos-{time.time_ns()}", 60))
    assert over.status_code == 429  # 120 > 100: the first batch was counted too
    calls: list[str] = []
    connection_class = r.connection_pool.connection_class
    original = connection_class.send_packed_command

    def counting(self, *args, **kwargs):
        calls.append("send")
        return original(self, *args, **kwargs)

    connection_class.send_packed_command = counting
    try:
        rate_limits_only = client.post("/events", json=_events(pid, f"one-{time.time_ns()}", 1))
    finally:
        del connection_class.send_packed_command
    assert rate_limits_only.status_code == 429
    # one round trip for the window and the retired-cookie check together (plus nothing else:
    # a refused batch writes nothing)
    assert len(calls) == 1, calls


def test_pages_pay_nothing_for_the_limiter(small):
    """No route declares a limit through Flask-Limiter's middleware, so none of its
    per-request hooks stays registered (rate_limits._without_middleware)."""
    limiter = small.extensions["rate_limits"]
    assert limiter.initialized and "limiter" in small.extensions
    hooks = [
        f
        for table in (
            small.before_request_funcs,
            small.after_request_funcs,
            small.teardown_request_funcs,
        )
        for funcs in table.values()
        for f in funcs
    ]
    bound = [getattr(f, "__self__", None) for f in hooks] + [
        next(iter(getattr(f, "args", ())), None) for f in hooks
    ]
    assert limiter not in bound
    assert small.test_client().get("/").status_code == 200
