"""Redis round trips per page, counted on the app's own clients against a real (embedded)
Redis: a warm page, a page right after a click, and a page rebuilt from cached fragments.

A round trip is one wait for replies: commands written to the servers, then the wait for their
first reply. Everything written before that wait is in the same round trip, however many
commands it carries (a pipeline, a script) and however many servers it went to: on two servers
the session script and the page script are both sent before either reply is read
(redis_client.run_scripts), so they cost one round trip of latency (the slower server's), not
two. Replies read after the first, with nothing sent in between, were already on their way and
add none. Each round trip is logged as {server: [command names sent]}."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import shop_app, slots


@pytest.fixture(autouse=True)
def _per_visitor_pages(monkeypatch):
    """These tests follow the per-visitor page cache with visitors who have no state of their
    own, whose pages the worker's memo would serve instead (page_memo.py,
    tests/integration/test_stateless_pages.py): the memo is off here."""
    monkeypatch.setenv("STOREFRONT_PAGE_MEMO_ENTRIES", "0")


DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"
Trip = dict[str, list[str]]


class Trips:
    """Every round trip the app's Redis clients make, as sequential waits: {server: [command
    names]} for the commands sent since the previous wait, closed by the first read after
    them."""

    def __init__(self):
        self.log: list[Trip] = []
        self._sent: Trip = {}  # sent, not yet waited for

    def sent(self, server: str, names: list[str]) -> None:
        self._sent.setdefault(server, []).extend(names)

    def waiting(self) -> None:
        if self._sent:
            self.log.append(self._sent)
            self._sent = {}

    def during(self, call) -> list[Trip]:
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
        sent, read = cls.send_packed_command, cls.read_response

        def counting(self, command, check_health=True, _sent=sent, _name=name):
            chunks = [command] if isinstance(command, bytes | str) else list(command)
            names = []
            for chunk in chunks:  # each packed command starts *N\r\n$len\r\nNAME
                raw = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                for part in raw.split(b"*")[1:]:
                    fields = part.split(b"\r\n")
                    if len(fields) > 2 and fields[1].startswith(b"$"):
                        names.append(fields[2].decode(errors="replace").upper())
            trips.sent(_name, names)
            return _sent(self, command, check_health)

        def reading(self, *args, _read=read, **kwargs):
            trips.waiting()
            return _read(self, *args, **kwargs)

        monkeypatch.setattr(cls, "send_packed_command", counting)
        monkeypatch.setattr(cls, "read_response", reading)
        monkeypatch.setattr(cls, "_counted", True, raising=False)
    return trips


def page_after_click(client, app) -> None:
    pid = next(iter(app.extensions["models"].get().catalog.products))
    event = {"id": f"rt-view-{pid}", "type": "view", "product_id": pid, "ts": 1733400000000}
    assert client.post("/events", json={"events": [event]}).status_code == 202


def measure(app, monkeypatch) -> dict[str, list[Trip]]:
    """The three kinds of page, each counted once (the visitor's first page is a cold one):
    the round trips made before the response went out, and (under "<kind> behind") those made
    once it was closed, as a WSGI server closes it after sending the body (page_cache.behind)."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        client.get("/", headers=h)
    trips = count_round_trips(app, monkeypatch)
    out: dict[str, list[Trip]] = {}

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


def one_write(trips: list[Trip], server: str) -> bool:
    """Whether the trips end in one write of the page to `server`: a pipeline of SETs, the
    fragments the page computed (if any), then the page and its parts record
    (page_cache.store)."""
    last = trips[-1] if trips else {}
    return list(last) == [server] and len(last[server]) >= 2 and set(last[server]) == {"SET"}


def test_on_one_redis_a_page_reads_redis_once_warm_after_a_click_and_from_fragments(
    app, monkeypatch
):
    got = measure(app, monkeypatch)
    # warm: the session script reads the session and the page; nothing else, nothing behind
    assert got["warm"] == [{"sessions": ["EVALSHA"]}]
    assert got["warm behind"] == []
    # the page copy gone, its fragments cached: the same script brought them (no MGET, was 3
    # round trips: script, MGET, SET); the page is written back once the response has gone out
    assert got["from fragments"] == [{"sessions": ["EVALSHA"]}]
    assert got["from fragments behind"] == [{"sessions": ["SET", "SET"]}]
    # after a click: ONE round trip. The page is stale, the script brings its fragments under
    # the new session version and the visitor's exposure ledger (the strategies' back-off reads
    # it: no HMGET); what the click made miss is computed, and written with the page in one
    # pipeline after the response (was: script, the ledger's HMGETs, the fragments' SETs, the
    # page's SETs; then script + one pipeline, both before the response)
    assert got["after click"] == [{"sessions": ["EVALSHA"]}]
    behind = got["after click behind"]
    assert len(behind) == 1 and one_write(behind, "sessions"), behind
    assert len(behind[0]["sessions"]) > 2  # the missed fragments ride with the page and parts


@pytest.mark.parametrize("notes", [True, False], ids=["noted", "notes-off"])
def test_on_two_servers_a_page_reads_both_servers_in_one_round_trip(
    two_servers, monkeypatch, notes
):
    """The session script and the page script go out together (the page script keys the
    fragments by the session version the click mirrored on the cache server): one round trip
    of latency before the response, warm, after a click and from fragments (was two: the
    session, then the page). With the worker's note of the visitor's session (page_memo.py,
    the shipped default), a page whose visitor's state is unchanged since this worker read it
    reads the page script alone, on the cache server (warm, from fragments); after a click
    (a new state mark) both; with notes off, both always."""
    if not notes:
        shipped = two_servers.config["SETTINGS"]
        monkeypatch.setitem(
            two_servers.config,
            "SETTINGS",
            shipped.model_copy(update={"page_memo_note_seconds": 0}),
        )
    got = measure(two_servers, monkeypatch)
    both = [{"sessions": ["EVALSHA"], "cache": ["EVALSHA"]}]
    alone = [{"cache": ["EVALSHA"]}] if notes else both
    assert got["warm"] == alone
    assert got["warm behind"] == []
    assert got["from fragments"] == alone
    assert got["from fragments behind"] == [{"cache": ["SET", "SET"]}]
    # after a click: the ledger came with the session script; one write of everything, behind
    assert got["after click"] == both
    behind = got["after click behind"]
    assert len(behind) == 1 and one_write(behind, "cache"), behind


@pytest.mark.parametrize("mirror", ["missing", "behind"])
def test_on_two_servers_a_missing_or_stale_mirror_costs_a_round_trip_not_a_wrong_page(
    two_servers, monkeypatch, mirror
):
    """The mirror is only a hint. Gone (evicted, a cache server restarted) or behind the
    session (a write lost), with the page copy gone too so that only the parts record is left,
    the page script brings the fragments of the version before the click. It says which
    version it used; that is not the session's, so the page script runs again with the
    session's (one more round trip) and writes it into the mirror, and the page is the page a
    build from nothing gives. (Correctness never rests on the mirror: the page's
    stamp and its fragments' keys come from the session's version, so fragments brought under
    another version would only go unused, the page reading its own by MGET.)"""
    from storefront.redis_client import SESSION_MIRROR, SESSION_VERSION, key

    app = two_servers
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    sessions, cache = app.extensions["redis"], app.extensions["cache"]
    for _ in range(3):
        before = client.get("/", headers=h)
    others = set(sessions.scan_iter(key(SESSION_VERSION, "*")))  # other tests' visitors
    page_after_click(client, app)
    (version_key,) = set(sessions.scan_iter(key(SESSION_VERSION, "*"))) - others
    mirror_key = key(SESSION_MIRROR) + version_key.removeprefix(key(SESSION_VERSION))
    version = sessions.get(version_key)
    assert cache.get(mirror_key) == version  # the click wrote it
    if mirror == "missing":
        cache.delete(mirror_key)
    else:
        cache.set(mirror_key, int(version) - 1, ex=60)  # the version the page was built at
    for k in cache.scan_iter("sf:page:*"):
        cache.delete(k)
    trips = count_round_trips(app, monkeypatch)
    held = []
    got = trips.during(lambda: held.append(client.get("/", headers=h, buffered=False)))
    assert got == [{"sessions": ["EVALSHA"], "cache": ["EVALSHA"]}, {"cache": ["EVALSHA"]}]
    held[0].close()
    after = held[0].get_data(True)
    assert cache.get(mirror_key) == version  # healed by the page that found it out
    assert "because-you-viewed" in slots(after)
    assert without_clock(after) != without_clock(before.get_data(True))
    # nothing of this visitor's cached: the page and every personal fragment built from
    # nothing. The shop's shared fragments stay: they change with the live trending window,
    # which other tests' events feed, not with the mirror (a flushdb made this test flaky)
    tag = version_key.removeprefix(key(SESSION_VERSION) + ":")
    for pattern in ("sf:page:*", "sf:pparts:*", f"sf:frag:*{tag}*"):
        for k in cache.scan_iter(pattern):
            cache.delete(k)
    fresh = client.get("/", headers=h)
    assert "page-hit" not in fresh.headers["Server-Timing"]
    assert without_clock(fresh.get_data(True)) == without_clock(after)


def test_on_two_servers_a_cache_server_down_leaves_the_pages_and_the_events(shop_env):
    """The page script sent beside the session script, and the mirror written by every
    change: a cache server that is down costs neither a page (built without a cache, the
    session whole) nor an event (acknowledged; the mirror write is only logged)."""
    from storefront.redis_client import CACHE_SERVER
    from tests.integration.redis_support import start_redis_server, stop

    cache_proc, cache_url = start_redis_server(CACHE_SERVER)
    apps = shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], cache_redis_url=cache_url
    )
    app = next(apps)
    try:
        client = app.test_client()
        h = {"User-Agent": DESKTOP}
        for _ in range(3):
            client.get("/", headers=h)
        stop(cache_proc)
        page_after_click(client, app)
        for _ in range(2):  # the first may trip the cache's breaker, the next is refused at once
            page = client.get("/", headers=h)
            assert page.status_code == 200
            assert "because-you-viewed" in slots(page.get_data(True))
        page_after_click(client, app)
    finally:
        next(apps, None)  # the app's clients closed
        if cache_proc.poll() is None:
            stop(cache_proc)


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
    assert after[0] == {"sessions": ["EVALSHA"]}
    assert [t for t in after[1:-1] if t != {"sessions": ["HMGET"]}] == []
    assert len(after) > 2  # at least one strategy read the ledger by itself
    assert one_write(after, "sessions")


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


def warm_then_flushed(app, server: str):
    """A visitor's page until it is served warm, then the scripts gone from `server`'s Redis
    ("redis" or "cache": restarted, SCRIPT FLUSH). The client, its headers, the warm page."""
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    for _ in range(3):
        warm = client.get("/", headers=h)
    assert "page-hit" in warm.headers["Server-Timing"]
    app.extensions[server].script_flush()
    return client, h, warm


def test_a_restarted_redis_without_the_scripts_still_serves_the_page(app, monkeypatch):
    """The session script runs by EVALSHA on a pooled connection (redis_client.run_script);
    a server that lost its scripts (restarted, SCRIPT FLUSH) answers NOSCRIPT, and the script
    is loaded (SCRIPT LOAD) and run again: the same warm page, then one round trip again."""
    client, h, _ = warm_then_flushed(app, "redis")
    trips = count_round_trips(app, monkeypatch)
    again = trips.during(lambda: client.get("/", headers=h))
    assert [names[0] for trip in again for names in trip.values()] == [
        "EVALSHA",
        "SCRIPT",
        "EVALSHA",
    ]
    assert "page-hit" in client.get("/", headers=h).headers["Server-Timing"]
    assert trips.during(lambda: client.get("/", headers=h)) == [{"sessions": ["EVALSHA"]}]


@pytest.mark.parametrize("notes", [True, False], ids=["noted", "notes-off"])
def test_on_two_servers_a_cache_server_without_the_scripts_still_serves_the_page(
    two_servers, monkeypatch, notes
):
    """The page script, read undecoded beside the session script (redis_client.run_scripts),
    or alone for a visitor whose session this worker noted (SessionStore.read_page), meets
    NOSCRIPT on a cache server that lost its scripts: it is loaded and run again on that
    server alone, and the warm page is the same page, byte for byte (clock aside)."""
    app = two_servers
    if not notes:
        shipped = app.config["SETTINGS"]
        monkeypatch.setitem(
            app.config, "SETTINGS", shipped.model_copy(update={"page_memo_note_seconds": 0})
        )
    client, h, warm = warm_then_flushed(app, "cache")
    trips = count_round_trips(app, monkeypatch)
    held = []
    got = trips.during(lambda: held.append(client.get("/", headers=h)))
    both = [{"sessions": ["EVALSHA"], "cache": ["EVALSHA"]}]
    first = [{"cache": ["EVALSHA"]}] if notes else both
    assert got == [*first, {"cache": ["SCRIPT"]}, {"cache": ["EVALSHA"]}]
    again = held[0]
    assert "page-hit" in again.headers["Server-Timing"]
    assert again.headers["Content-Type"] == warm.headers["Content-Type"]
    assert again.headers["X-Model-Version"] == warm.headers["X-Model-Version"]
    assert without_clock(again.get_data(True)) == without_clock(warm.get_data(True))
    assert trips.during(lambda: client.get("/", headers=h)) == first


@pytest.fixture
def two_servers_with_memo(shop_env, tmp_path_factory, monkeypatch) -> Iterator:
    """two_servers with the worker's memo of stateless visitors' pages on (as shipped)."""
    from storefront.redis_client import start_embedded

    monkeypatch.setenv("STOREFRONT_PAGE_MEMO_ENTRIES", "512")
    cache_url = start_embedded(tmp_path_factory.mktemp("cache-memo"), "cache")
    yield from shop_app(
        shop_env["home"], shop_env["database_url"], shop_env["redis_url"], cache_redis_url=cache_url
    )


def test_a_stateless_visitor_reads_the_session_server_alone_until_they_have_state(
    two_servers_with_memo, monkeypatch
):
    """A visitor with nothing of their own gets their pages from the worker's memo and has no
    page copy in Redis: once seen so, their next pages read the session server alone (was:
    the page script on the cache server too, for nothing). When they have state (a view, sent
    here on this worker; on another the session read says so just the same), that page reads
    their page as well, one round trip more, and shows it; the pages after are their own copy."""
    app = two_servers_with_memo
    client = app.test_client()
    h = {"User-Agent": DESKTOP}
    assert client.get("/cart", headers=h).status_code == 200  # the visitor's cookie
    trips = count_round_trips(app, monkeypatch)

    def page() -> tuple[list[Trip], str, str]:
        held = []
        got = trips.during(lambda: held.append(client.get("/", headers=h, buffered=True)))
        response = held[0]
        assert response.status_code == 200
        return got, response.headers.get("Server-Timing", ""), response.get_data(as_text=True)

    first, timing, _ = page()  # seen stateless now: the full read, the page kept in the memo
    assert first[0] == {"sessions": ["EVALSHA"], "cache": ["EVALSHA"]}
    for _ in range(2):
        got, timing, html = page()
        assert "page-memo" in timing and "noted" in timing
        assert got == [], got  # the worker's note of their session: no round trip at all
    shipped = app.config["SETTINGS"]
    monkeypatch.setitem(
        app.config, "SETTINGS", shipped.model_copy(update={"page_memo_note_seconds": 0})
    )
    for _ in range(2):  # without notes
        got, timing, html = page()
        assert "page-memo" in timing and "noted" not in timing
        assert got == [{"sessions": ["EVALSHA"]}], got  # the session server alone
    monkeypatch.setitem(app.config, "SETTINGS", shipped)
    page_after_click(client, app)  # a new state mark: the note no longer serves them
    got, timing, html = page()
    assert "page-memo" not in timing and "because-you-viewed" in slots(html)
    assert got[:2] == [
        {"sessions": ["EVALSHA"]},
        {"sessions": ["EVALSHA"], "cache": ["EVALSHA"]},
    ], got
    got, timing, again = page()  # their own page now, warm, their session from the note
    assert "page-hit" in timing and "noted" in timing and got == [{"cache": ["EVALSHA"]}]
    assert without_clock(again) == without_clock(html)
