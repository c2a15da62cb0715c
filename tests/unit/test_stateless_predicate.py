"""Who has no state of their own (core/dependencies.py `stateless`), and the bounds of the
worker's memo of their pages (page_memo.PageMemo)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storefront.core import dependencies
from storefront.core.context import Assignment
from storefront.page_memo import PageMemo
from storefront.session import PackedLedger, SessionState
from storefront.traits import Traits, infer
from tests.unit.test_fragment_keys import ctx

VISITOR = "s" * 22


def fresh(new: bool = False, **session):
    """A visitor with nothing of their own: a cookie and an empty ledger read with the
    session, or (new) the first, cookie-less page."""
    session.setdefault("exposures", None if new else PackedLedger(""))
    state = SessionState(VISITOR, **session)
    return replace(ctx(visitor=VISITOR), session=state, new_visitor=new)


def test_a_fresh_visitor_is_stateless_with_a_cookie_or_without():
    assert dependencies.stateless(fresh())
    assert dependencies.stateless(fresh(new=True))
    assert infer({}, {}) == Traits()  # what an empty session's traits read as


@pytest.mark.parametrize(
    "session",
    [
        {"views": ("A1",)},
        {"cart": {"A1": 1}},
        {"bought": ("A1",)},
        {"customer_id": "12345"},
        {"version": 1},  # a click since, even if nothing of it is left
        {"traits_raw": {"c:x": "1"}},
        {"prefs": {"mute:x": "1"}},
        {"available": False},  # the store could not be read: not known to be empty
        {"retired": True},
    ],
)
def test_any_state_of_the_visitors_own_is_not_stateless(session):
    assert not dependencies.stateless(fresh(**session))


def test_an_exposure_ledger_or_an_unread_one_is_not_stateless():
    assert not dependencies.stateless(fresh(exposures=PackedLedger("A1\x1f3")))
    unread = replace(fresh(), session=SessionState(VISITOR, exposures=None))
    assert not dependencies.stateless(unread)  # a returning visitor's ledger left unread


def test_traits_a_segment_a_seed_or_a_pin_are_not_stateless():
    assert not dependencies.stateless(replace(fresh(), traits=Traits(muted=("x",))))
    assert not dependencies.stateless(replace(fresh(), segment=object()))
    assert not dependencies.stateless(replace(fresh(), seed="qa"))
    assert not dependencies.stateless(fresh(), pinned=True)
    # arms are in the page stamp, not state: two arms are two pages, both shareable
    assert dependencies.stateless(replace(fresh(), experiments=Assignment(False, (("e", "a"),))))


def test_a_stateless_pages_discovery_seed_leaves_the_visitor_out():
    a, b = fresh(), replace(fresh(), visitor_id="t" * 22)
    assert dependencies.discovery_seed(a) == dependencies.discovery_seed(b)
    assert VISITOR not in dependencies.discovery_seed(a)
    viewed = fresh(views=("A1",))
    assert dependencies.discovery_seed(viewed)[0] == VISITOR


def test_the_stamp_holds_the_season_a_geoip_latitude_may_flip():
    from datetime import UTC, datetime

    from storefront.signals.clock import local_time

    when = datetime(2011, 12, 5, 9, 0, tzinfo=UTC)
    # one country, one zone, one hour: only the latitude (a GeoIP record's) tells them apart
    north = replace(ctx(), time=local_time(when, "BR", "America/Sao_Paulo", "UTC", 2.8))
    south = replace(ctx(), time=local_time(when, "BR", "America/Sao_Paulo", "UTC", -23.5))
    assert north.time.season != south.time.season
    assert dependencies.page_stamp(north, "m", "r") != dependencies.page_stamp(south, "m", "r")


def test_the_memo_keeps_the_newest_within_its_entries_and_bytes():
    memo = PageMemo(entries=3, max_bytes=100)
    for k in "abcd":
        memo.put(k, (b"x" * 10,))
    assert len(memo) == 3 and memo.get("a") is None and memo.size == 30
    memo.get("b")  # used: the least recently used goes first
    memo.put("e", (b"y" * 10,))
    assert memo.get("c") is None and memo.get("b") is not None
    memo.put("big", (b"z" * 60, b"z" * 20))  # 80 bytes: the others make room
    assert memo.size <= 100 and memo.get("big") == (b"z" * 60, b"z" * 20)
    memo.put("huge", (b"h" * 101,))  # over the whole budget: never kept
    assert memo.get("huge") is None and memo.size <= 100
    memo.put("big", (b"q",))  # a key kept again counts once
    assert memo.size == sum(len(p) for k in list(memo._pages) for p in memo._pages[k])
    off = PageMemo(entries=0, max_bytes=100)
    off.put("a", (b"x",))
    assert len(off) == 0
    memo.clear()
    assert len(memo) == 0 and memo.size == 0


def test_the_memo_keeps_csrf_tokens_by_cookie_within_its_bound(monkeypatch):
    from storefront import page_memo

    monkeypatch.setattr(page_memo, "TOKENS_MAX", 3)
    memo = PageMemo(entries=4, max_bytes=1000)
    for n in range(5):
        memo.keep_token(f"cookie-{n}", f"token-{n}")
    assert memo.tokens == {"cookie-2": "token-2", "cookie-3": "token-3", "cookie-4": "token-4"}
    memo.keep_token("cookie-3", "token-3")  # kept again: still one entry
    assert len(memo.tokens) == 3


def test_the_memo_notes_stateless_visitors_within_its_bound(monkeypatch):
    from storefront import page_memo

    monkeypatch.setattr(page_memo, "STATELESS_MAX", 3)
    memo = PageMemo(entries=4, max_bytes=1000)
    for n in range(5):
        memo.seen_stateless(f"v{n}", True)
    assert list(memo.stateless) == ["v2", "v3", "v4"]  # the oldest out first
    memo.seen_stateless("v3", False)  # state of their own since: no longer noted
    memo.seen_stateless("v9", False)  # never noted: nothing to do
    assert list(memo.stateless) == ["v2", "v4"]


def test_a_note_serves_only_its_own_mark_within_its_time(monkeypatch):
    from storefront import page_memo

    clock = [100.0]
    monkeypatch.setattr(page_memo.time, "monotonic", lambda: clock[0])
    memo = PageMemo(entries=4, max_bytes=1000)
    state = SessionState("v1", first_seen=50.0, last_seen=60.0)
    memo.seen_stateless("v1", True, page_memo.note_of(state, {}, "m1"))
    assert memo.noted("v1", "m1", 60).state is state
    assert memo.noted("v1", "m2", 60) is None  # the browser's state changed since
    assert memo.noted("v1", "", 60) is None
    assert memo.noted("v2", "m1", 60) is None  # never noted
    clock[0] = 159.9
    assert memo.noted("v1", "m1", 60) is not None
    clock[0] = 160.0  # the note ran out: read the session again
    assert memo.noted("v1", "m1", 60) is None
    memo.seen_stateless("v1", False)
    clock[0] = 100.0
    assert memo.noted("v1", "m1", 60) is None


def test_a_note_holds_what_the_page_wrote_and_keeps_its_time():
    from storefront import page_memo

    state = SessionState("v1", provisional=True, visit_fields={"v:kind": "direct"})
    written = {"first_seen": "70", "last_seen": "80", "v:kind": "email", "v:seen": "80"}
    note = page_memo.note_of(state, written, "m", at=5.0)
    assert note.at == 5.0 and note.mark == "m"  # a note's time: when the session was read
    s = note.state
    assert (s.first_seen, s.last_seen, s.provisional) == (70.0, 80.0, False)
    assert s.visit_fields == {"v:kind": "email", "v:seen": "80"}
    kept = page_memo.note_of(replace(state, first_seen=10.0), {"first_seen": "70"}, "m").state
    assert kept.first_seen == 10.0  # HSETNX: a first sighting is never moved
    assert page_memo.note_of(state, {}, "m").state is state  # nothing written: as read


def test_notes_are_bounded_apart_from_the_visitors_noted(monkeypatch):
    from storefront import page_memo

    monkeypatch.setattr(page_memo, "NOTES_MAX", 2)
    memo = PageMemo(entries=4, max_bytes=1000)
    for n in range(4):
        memo.seen_stateless(f"v{n}", True, page_memo.note_of(SessionState(f"v{n}"), {}, ""))
    assert list(memo.notes) == ["v2", "v3"] and list(memo.stateless) == ["v0", "v1", "v2", "v3"]
    assert memo.noted("v1", "", 60) is None and memo.noted("v3", "", 60) is not None


def test_a_note_keeps_no_page_and_no_long_ledger():
    """A note of a visitor with state of their own keeps their session, not the page copy or
    fragments that came with the read (the next page reads its own), nor an exposure ledger
    longer than NOTE_LEDGER_MAX (a page built from the note reads it)."""
    from storefront import page_memo

    short = PackedLedger("p1\x1f2\x1f_s\x1f2")
    state = SessionState(
        "v1", views=("p1",), cached_page=b"<html>", cached_fragments={"k": "x"}, exposures=short
    )
    kept = page_memo.note_of(state, {}, "m").state
    assert (kept.cached_page, kept.cached_fragments) == (None, None)
    assert kept.exposures is short and kept.views == ("p1",)
    long = PackedLedger("\x1f".join(f"p{n}\x1f1" for n in range(page_memo.NOTE_LEDGER_MAX)))
    assert page_memo.note_of(replace(state, exposures=long), {}, "m").state.exposures is None
    plain = {f"p{n}": "1" for n in range(page_memo.NOTE_LEDGER_MAX)}  # not packed: by count
    assert page_memo.note_of(replace(state, exposures=plain), {}, "m").state.exposures is None


def test_notes_of_visitors_with_state_are_bounded_and_forgotten_on_a_change(monkeypatch):
    from storefront import page_memo

    monkeypatch.setattr(page_memo, "STATED_NOTES_MAX", 2)
    memo = PageMemo(entries=4, max_bytes=1000)
    for n in range(3):
        memo.note_stated(f"v{n}", page_memo.note_of(SessionState(f"v{n}", views=("p",)), {}, "m"))
    assert list(memo.stated) == ["v1", "v2"]  # the oldest out first
    assert memo.noted_stated("v2", "m", 60).state.views == ("p",)
    assert memo.noted_stated("v2", "other", 60) is None  # their browser's state changed
    assert memo.noted("v2", "m", 60) is None  # not a stateless visitor's note
    memo.note_stated("v1", page_memo.note_of(SessionState("v1"), {}, "m"))
    assert list(memo.stated) == ["v2", "v1"]  # noted again: the newest
    memo.forget("v2")
    assert memo.noted_stated("v2", "m", 60) is None and list(memo.stated) == ["v1"]
    memo.forget("v9")  # never noted: nothing to do
    memo.clear()
    assert memo.stated == {}
