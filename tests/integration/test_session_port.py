"""The SessionReader port (storefront/core/ports.py) against its Redis adapter
(storefront/session.py, SessionStore) on a real embedded Redis."""

from __future__ import annotations

import redis

from storefront.core.context import SessionState
from storefront.core.ports import Clock, FixedClock, SessionReader, SystemClock
from storefront.redis_client import connect
from storefront.session import SessionStore


def test_the_redis_store_reads_what_events_wrote(embedded_redis_url):
    client = connect(embedded_redis_url)
    store = SessionStore(client, 3600, clock=FixedClock(1_000_000.0))
    assert isinstance(store, SessionReader)
    visitor = "port-contract-visitor"
    pipe = client.pipeline(transaction=True)
    store.record(pipe, visitor, "view", "P1")
    store.record(pipe, visitor, "add_to_cart", "P2", 2)
    pipe.execute()
    store.touch(store.read(visitor))
    state = store.read(visitor)
    assert isinstance(state, SessionState) and state.available
    assert state.views == ("P1",) and state.cart == {"P2": 2} and state.version == 2
    assert state.first_seen == state.last_seen == 1_000_000.0  # the clock it was given
    assert state.cached_page is None and state.cached_fragments is None
    client.delete(*client.keys(f"sf:*:{{v:{visitor}}}"))


def test_a_store_that_is_down_reads_as_unavailable():
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    state = SessionStore(down, 3600).read("port-contract-visitor", "sf:page:x:y")
    assert state == SessionState("port-contract-visitor", available=False)


def test_clocks_are_clocks():
    assert isinstance(SystemClock(), Clock) and isinstance(FixedClock(1.0), Clock)
    assert FixedClock(5.0).now() == 5.0


def test_two_servers_one_down_read_as_one_server_down(embedded_redis_url):
    """The session script and the page script go out together (two servers): a session store
    that is down reads as unavailable, as on one server; a cache server that is down leaves
    the session whole, without a page."""
    up = connect(embedded_redis_url)
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    visitor, page = "port-contract-two", "sf:page:{v:port-contract-two}:y"
    assert SessionStore(down, 3600, cache=up).read(visitor, page) == SessionState(
        visitor, available=False
    )
    pipe = up.pipeline(transaction=True)
    store = SessionStore(up, 3600, cache=down)
    store.record(pipe, visitor, "view", "P1")
    store.commit(pipe)  # the version's mirror cannot be written: only logged
    state = store.read(visitor, page)
    assert state.available and state.views == ("P1",) and state.version == 1
    assert state.cached_page is None and state.cached_fragments is None
    up.delete(*up.keys(f"sf:*:{{v:{visitor}}}"))
