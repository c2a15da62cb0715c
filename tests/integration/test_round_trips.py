"""Redis round trips per page, counted on the app's own clients against a real (embedded)
Redis: a warm page, a page right after a click, and a page rebuilt from cached fragments.

A round trip is one write of commands to the server and the wait for its replies (a pipeline
or a script is one, however many commands it carries)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import shop_app, slots

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
READS = {"EVALSHA", "GET", "MGET"}


class Trips:
    """Every round trip the app's Redis clients make: (server, [command names])."""

    def __init__(self):
        self.log: list[tuple[str, list[str]]] = []

    def during(self, call) -> list[tuple[str, list[str]]]:
        start = len(self.log)
        call()
        return self.log[start:]


def count_round_trips(app, monkeypatch) -> Trips:
    trips = Trips()
    clients = {"sessions": app.extensions["redis"], "cache": app.extensions["cache"]}
    for name, client in clients.items():
        cls = client.connection_pool.connection_class
        if getattr(cls, "_counted", False):
            continue
        sent = cls.send_packed_command

        def counting(self, command, check_health=True, _sent=sent, _name=name):
            chunks = [command] if isinstance(command, bytes | str) else list(command)
            names = []
            for chunk in chunks:  # each packed command starts *N\r\n$len\r\nNAME
                raw = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                for part in raw.split(b"*")[1:]:
                    fields = part.split(b"\r\n")
                    if len(fields) > 2 and fields[1].startswith(b"$"):
                        names.append(fields[2].decode(errors="replace").upper())
            trips.log.append((_name, names))
            return _sent(self, command, check_health)

        monkeypatch.setattr(cls, "send_packed_command", counting)
        monkeypatch.setattr(cls, "_counted", True, raising=False)
    return trips


def page_after_click(client, app) -> None:
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": f"rt-view-{pid}", "type": "view", "product_id": pid, "ts": 1733400000000}
    assert client.post("/events", json={"events": [event]}).status_code == 202


def measure(app, monkeypatch) -> dict[str, list[tuple[str, list[str]]]]:
    """The three kinds of page, each counted once (the visitor's first page is a cold one):
    the round trips made before the response went out, and (under "<kind> behind") those made
    once it was closed, as a WSGI server closes it after sending the body (page_cache.behind)."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        client.get("/", headers=h)
    trips = count_round_trips(app, monkeypatch)
    out: dict[str, list[tuple[str, list[str]]]] = {}

    def page(kind: str) -> None:
        held = []
        out[kind] = trips.during(lambda: held.append(client.get("/", headers=h, buffered=False)))
        out[f"{kind} behind"] = trips.during(lambda: held[0].close())
        assert held[0].status_code == 200

    page("warm")
    page_after_click(client, app)
    page("after click")
    for k in app.extensions["cache"].scan_iter("sf:page:*"):  # the page copy expired
        app.extensions["cache"].delete(k)
    page("from fragments")
    return out


@pytest.fixture
def two_servers(shop_env, tmp_path_factory) -> Iterator:
    """The shipped default: sessions and the cache on servers of their own."""
    from storefront.redis_client import start_embedded

    cache_url = start_embedded(tmp_path_factory.mktemp("cache"), "cache")
    yield from shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], cache_redis_url=cache_url
    )


def reads(trips) -> list:
    return [t for t in trips if set(t[1]) <= READS]


def one_write(trips) -> bool:
    """Whether the trips end in one write of the page: a pipeline of SETs, the fragments the
    page computed (if any), then the page and its parts record (page_cache.store)."""
    return bool(trips) and len(trips[-1][1]) >= 2 and set(trips[-1][1]) == {"SET"}


def test_on_one_redis_a_page_reads_redis_once_warm_after_a_click_and_from_fragments(
    app, monkeypatch
):
    got = measure(app, monkeypatch)
    # warm: the session script reads the session and the page; nothing else, nothing behind
    assert got["warm"] == [("sessions", ["EVALSHA"])]
    assert got["warm behind"] == []
    # the page copy gone, its fragments cached: the same script brought them (no MGET, was 3
    # round trips: script, MGET, SET); the page is written back once the response has gone out
    assert got["from fragments"] == [("sessions", ["EVALSHA"])]
    assert got["from fragments behind"] == [("sessions", ["SET", "SET"])]
    # after a click: ONE round trip. The page is stale, the script brings its fragments under
    # the new session version and the visitor's exposure ledger (the strategies' back-off reads
    # it: no HMGET); what the click made miss is computed, and written with the page in one
    # pipeline after the response (was: script, the ledger's HMGETs, the fragments' SETs, the
    # page's SETs; then script + one pipeline, both before the response)
    assert got["after click"] == [("sessions", ["EVALSHA"])]
    behind = got["after click behind"]
    assert len(behind) == 1 and behind[0][0] == "sessions" and one_write(behind), behind
    assert len(behind[0][1]) > 2  # the missed fragments ride with the page and its parts


def test_on_two_servers_the_page_or_its_fragments_follow_in_one_more_round_trip(
    two_servers, monkeypatch
):
    got = measure(two_servers, monkeypatch)
    session_then_cache = [("sessions", ["EVALSHA"]), ("cache", ["EVALSHA"])]
    assert got["warm"] == session_then_cache
    assert got["warm behind"] == []
    assert got["from fragments"] == session_then_cache
    assert got["from fragments behind"] == [("cache", ["SET", "SET"])]
    # after a click: the ledger came with the session script; one write of everything, behind
    assert got["after click"] == session_then_cache
    behind = got["after click behind"]
    assert len(behind) == 1 and behind[0][0] == "cache" and one_write(behind), behind


def test_a_lost_write_behind_costs_only_a_rebuild(app):
    """A response never closed (a worker killed after sending it) leaves no page behind: the
    next page is built again, the same page."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        built = client.get("/", headers=h)
    page_after_click(client, app)
    lost = client.get("/", headers=h, buffered=False)  # never closed: its writes never run
    assert "page-hit" not in lost.headers["Server-Timing"]
    again = client.get("/", headers=h)
    assert "page-hit" not in again.headers["Server-Timing"]  # rebuilt, nothing stale served
    assert without_clock(again.get_data(True)) == without_clock(lost.get_data(True))
    assert without_clock(again.get_data(True)) != without_clock(built.get_data(True))
    assert "page-hit" in client.get("/", headers=h).headers["Server-Timing"]


def test_a_heavy_shoppers_ledger_is_read_by_hmget(app, monkeypatch):
    """A ledger past LEDGER_ALONG fields does not ride on the session read (its size is
    bounded only by exposure.MAX_FIELDS): the strategies read it by HMGET, as before; the
    page's writes are still one pipeline."""
    from storefront import session as session_mod

    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        client.get("/", headers=h)
    monkeypatch.setattr(session_mod, "LEDGER_ALONG", -1)  # no ledger is small enough
    trips = count_round_trips(app, monkeypatch)
    page_after_click(client, app)
    after = trips.during(lambda: client.get("/", headers=h))
    assert after[0] == ("sessions", ["EVALSHA"])
    assert [t for t in after[1:-1] if t[1] != ["HMGET"]] == []
    assert len(after) > 2  # at least one strategy read the ledger by itself
    assert one_write(after)


def test_a_page_from_prefetched_fragments_is_the_page(app):
    """The fragments that ride on the session read build the same page as an MGET would."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        built = client.get("/", headers=h)
    for k in app.extensions["cache"].scan_iter("sf:page:*"):
        app.extensions["cache"].delete(k)
    again = client.get("/", headers=h)
    assert "page-hit" not in again.headers["Server-Timing"]
    assert without_clock(again.get_data(True)) == without_clock(built.get_data(True))
    page_after_click(client, app)
    after = client.get("/", headers=h)
    assert "page-hit" not in after.headers["Server-Timing"]
    assert "because-you-viewed" in slots(after.get_data(True))


def without_clock(html: str) -> str:
    return re.sub(r"<!--clock-->.*?<!--/clock-->", "", html)


def test_the_ledger_rides_packed_and_reads_as_the_hash(app):
    """The session script packs the exposure ledger into one string (session.PackedLedger);
    read back it is exactly the Redis hash, field for field, including the totals."""
    from storefront.redis_client import EXPOSURE, key
    from storefront.session import PackedLedger

    client = app.test_client()
    for _ in range(3):  # past the provisional first page: the visitor's events now last
        client.get("/", headers={"User-Agent": DESKTOP})
    before = set(app.extensions["redis"].scan_iter(key(EXPOSURE, "*")))
    pids = list(app.extensions["models"].get().catalog.products)[:5]
    events = [
        {"id": f"rt-imp-{i}", "type": "impression", "product_id": pid, "ts": 1733400000000 + i}
        for i, pid in enumerate(pids * 2)
    ]
    events.append({"id": "rt-click", "type": "click", "product_id": pids[0], "ts": 1733400009000})
    assert client.post("/events", json={"events": events}).status_code == 202
    (visitor,) = set(app.extensions["redis"].scan_iter(key(EXPOSURE, "*"))) - before
    visitor_id = visitor.removeprefix(key(EXPOSURE) + ":")
    expected = app.extensions["redis"].hgetall(visitor)
    assert expected["_s"] == "10" and expected[pids[1]] == "2"
    state = app.extensions["sessions"].read(visitor_id, ledger="1")
    assert isinstance(state.exposures, PackedLedger)
    assert dict(state.exposures) == expected
    assert pids[0] + ":e" in state.exposures and "nope" not in state.exposures
    # no ledger: an empty mapping, not a missing one
    empty = app.extensions["sessions"].read("no-such-visitor", ledger="1")
    assert empty.exposures is not None and dict(empty.exposures) == {}


def test_a_restarted_redis_without_the_scripts_still_serves_the_page(app, monkeypatch):
    """The session script runs by EVALSHA on a pooled connection (redis_client.run_script);
    a server that lost its scripts (restarted, SCRIPT FLUSH) answers NOSCRIPT, and the script
    is loaded and run again: the same warm page, then one round trip again."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        warm = client.get("/", headers=h)
    assert "page-hit" in warm.headers["Server-Timing"]
    app.extensions["redis"].script_flush()
    trips = count_round_trips(app, monkeypatch)
    again = trips.during(lambda: client.get("/", headers=h))
    assert [names[0] for _, names in again] == ["EVALSHA", "EVALSHA", "SCRIPT", "EVALSHA"]
    assert "page-hit" in client.get("/", headers=h).headers["Server-Timing"]
    assert trips.during(lambda: client.get("/", headers=h)) == [("sessions", ["EVALSHA"])]
