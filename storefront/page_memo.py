"""Pages of visitors with no state of their own, built once per worker and context.

Most landing visitors have nothing of their own that shapes a page (core/dependencies.py
`stateless`: no views, basket, purchases, sign-in, exposure ledger, traits or preferences, no
QA pin): their page depends only on the request's context. This keeps such pages in the
worker, by a key made of the page stamp (core/dependencies.py: everything a page depends on
beyond its request) and the request parts page_cache.page_key hashes, less the visitor's own:

- the session cookie is left out: the one thing it shapes, the basket form's CSRF token, is
  cut out of the kept page and the requesting visitor's own token put in on every hit;
- the client address is left out: the page sees it only through the location it gives (the
  stamp's country, region, city, source, time zone and season), so visitors from one place share;
- the User-Agent and the Referer are left out: the page sees the first only through the device
  and operating system it gives (signals/device.py; client hints, which win, are not in any key
  either) and the second only through the visit's channel (kind, source host, medium, campaign:
  signals/channel.py, core/visit.py), all of them in the stamp, so the many versions of one
  browser on one kind of device, and referrers on one host, share a page.

A visitor noted in this worker is read from the note, not from the session server, while the
note holds (`noted`): for at most STOREFRONT_PAGE_MEMO_NOTE_SECONDS, and only while their
browser sends back the state cookie (STATE_COOKIE) it sent when the note was made. A visitor
noted stateless reads nothing at all; one with state of their own (a history, a basket) reads
their page copy alone, from the cache server, keyed by the noted session's version
(SessionStore.read_page), not the session beside it. Every
request that changes a visitor's state (any POST, PUT, PATCH or DELETE that succeeds: events,
basket, preferences, sign-in) and every page that begins a new visit answers with a new value
of that cookie (`new_state`), and the tracker sets one itself before it sends an event
(assets/js/tracker.js: a beacon still on its way cannot be overtaken by the next page), so the
next page of a browser whose state changed, on any worker or node, reads the session again.
What does not come from the visitor's own browser (an event the JSON API records for a stated
visitor, a client that keeps no cookies) reaches their pages when the note runs out; the worker
that records such an event drops its own note of the visitor at once (events.ingest: `forget`).

A hit is served as a warm page is (page_cache.serve: the clock refreshed on the way out, the
same headers), with `page-memo` in Server-Timing. The memo is per app, in the worker's memory,
bounded by entries and bytes (STOREFRONT_PAGE_MEMO_ENTRIES, STOREFRONT_PAGE_MEMO_BYTES; least
recently used out first); a new model, rules or catalog version, hour or arm is a new key, and
old entries age out. Nothing is shared between workers: a worker fills its own (a forked worker
starts with what its parent had, which serves no pages: empty).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from flask import Response, current_app, request, session
from flask_wtf.csrf import generate_csrf

from storefront import page_cache
from storefront.core import bounded
from storefront.core.context import SessionState
from storefront.core.dependencies import stateless
from storefront.core.lookup import lookup
from storefront.core.visit import PREFIX as VISIT_PREFIX

_MEMO = "sf.page_memo"  # app.extensions: the app's PageMemo
TOKENS_MAX = 16_384  # CSRF tokens kept by session cookie (~250 bytes each), oldest out first
# visitors last seen with no state of their own whose page the memo served or kept (~100 bytes
# each), oldest out first
STATELESS_MAX = 65_536
# of those, the most recently seen whose session is noted (page_memo.Note, about 1.2 KB each)
NOTES_MAX = 16_384
# visitors with state of their own whose session is noted, the most recent (their history,
# basket, traits and a small exposure ledger, measured with tracemalloc: about 1.1 KB for a
# few views, at most about 9 KB with 30 views, 50 bought and a full NOTE_LEDGER_MAX ledger;
# 2-18 MB a worker)
STATED_NOTES_MAX = 2_048
# an exposure ledger longer than this (packed, characters) is not kept in a note: a page built
# from the note reads it (about 100 products' worth)
NOTE_LEDGER_MAX = 2_048
_lock = threading.Lock()
# the browser's state mark (module docstring): a random value, new whenever its state changes
STATE_COOKIE = "sf_state"
# shaping headers a page sees only through parts of its stamp (module docstring): the client
# address (location), and page_cache.STAMPED: the User-Agent (device, os), the Referer (channel)
UNKEYED = frozenset(("X-Forwarded-For", *page_cache.STAMPED))


@dataclass(frozen=True)
class Note:
    """A visitor seen stateless: their session as read (and as this worker's writes left it),
    the state cookie their browser sent then ("" for none) and when (time.monotonic)."""

    state: SessionState
    mark: str
    at: float


class PageMemo:
    """Kept pages by key, least recently used first out, within `entries` and `max_bytes`.
    Reads take no lock (a dict read is atomic); writes and the recency move take one."""

    def __init__(self, entries: int, max_bytes: int):
        self.entries = entries
        self.max_bytes = max_bytes
        self.size = 0
        self._pages: OrderedDict[str, tuple[bytes, ...]] = OrderedDict()
        self.tokens: dict[str, str] = {}  # CSRF token by session cookie (_token)
        # visitor ids last seen stateless, their page from the memo: their next page reads the
        # session alone, not their page copy (they have none: the memo keeps theirs) ...
        self.stateless: dict[str, None] = {}
        # ... or, for the most recent of them, while the note holds (`noted`), not even that
        self.notes: dict[str, Note] = {}
        # visitors with state of their own: their page copy alone while the note holds
        self.stated: dict[str, Note] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: str) -> tuple[bytes, ...] | None:
        pieces = self._pages.get(key)
        if pieces is not None:
            with self._lock:
                if key in self._pages:
                    self._pages.move_to_end(key)
        return pieces

    def put(self, key: str, pieces: tuple[bytes, ...]) -> None:
        size = sum(map(len, pieces))
        if size > self.max_bytes or self.entries <= 0:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self.size -= sum(map(len, old))
            self._pages[key] = pieces
            self.size += size
            while len(self._pages) > self.entries or self.size > self.max_bytes:
                _, gone = self._pages.popitem(last=False)
                self.size -= sum(map(len, gone))

    def keep_token(self, cookie: str, token: str) -> None:
        """Keep the CSRF token made for a session cookie (_token), the oldest out first."""
        with self._lock:
            bounded.put(self.tokens, cookie, token, TOKENS_MAX)

    def seen_stateless(self, visitor_id: str, stateless: bool, note: Note | None = None) -> None:
        """Note whether this visitor was last seen with no state of their own and their page
        shared (the memo's key), the oldest out first. A visitor noted reads the session alone
        on their next page (shop/views.py): a stateless visitor's page is the memo's, never a
        copy of their own in Redis. Noted per worker and only as a hint: the session read
        says whether it still holds (shop/views.py reads the page too where it does not).
        With `note`, their session as read: their next pages read it from here (`noted`)."""
        if stateless == (visitor_id in self.stateless) and note is None:
            return
        with self._lock:
            if stateless:
                bounded.put(self.stateless, visitor_id, None, STATELESS_MAX)
                if note is not None:
                    self.notes.pop(visitor_id, None)  # the newest last
                    bounded.put(self.notes, visitor_id, note, NOTES_MAX)
            else:
                self.stateless.pop(visitor_id, None)
                self.notes.pop(visitor_id, None)

    def note_stated(self, visitor_id: str, note: Note) -> None:
        """Note the session of a visitor with state of their own (their next pages read their
        page copy alone while it holds: `noted_stated`), the oldest out first."""
        with self._lock:
            self.stated.pop(visitor_id, None)  # the newest last
            bounded.put(self.stated, visitor_id, note, STATED_NOTES_MAX)

    def forget(self, visitor_id: str) -> None:
        """Drop every note of this visitor (their state changed: shop/views._state_changed)."""
        if visitor_id in self.stateless or visitor_id in self.stated:
            with self._lock:
                self.stateless.pop(visitor_id, None)
                self.notes.pop(visitor_id, None)
                self.stated.pop(visitor_id, None)

    def noted(self, visitor_id: str, mark: str, within: float) -> Note | None:
        """The session noted for this visitor seen stateless, while it holds: made less than
        `within` seconds ago, and their browser sends the state cookie it sent then (a changed
        state sets a new one: module docstring). None: read the session."""
        return _holding(self.notes.get(visitor_id), mark, within)

    def noted_stated(self, visitor_id: str, mark: str, within: float) -> Note | None:
        """The same for a visitor with state of their own (note_stated)."""
        return _holding(self.stated.get(visitor_id), mark, within)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.size = 0
            self.notes.clear()
            self.stated.clear()


def _holding(note: Note | None, mark: str, within: float) -> Note | None:
    if note is None or note.mark != mark or time.monotonic() - note.at >= within:
        return None
    return note


def memo_of(app) -> PageMemo:
    memo = app.extensions.get(_MEMO)
    if memo is None:
        settings = app.config["SETTINGS"]
        with _lock:
            memo = app.extensions.setdefault(
                _MEMO, PageMemo(settings.page_memo_entries, settings.page_memo_bytes)
            )
    return memo


def shareable(ctx, page: str, pinned: bool, app=None) -> bool:
    """Whether this request's page may come from, or go into, the memo: the visitor has no
    state (core/dependencies.py `stateless`) and no targeted experiment of this page holds an
    arm of theirs (a page that applies one notes the visitor's exposure, exposures.py: a
    memo page would skip the note, so such pages are built)."""
    if not stateless(ctx, pinned):
        return False
    running = (app or current_app).extensions["experiments"].get()
    arms = ctx.experiments
    return not any(e.page == page and e.targeted and arms.arm(e.id) is not None for e in running)


def eligible(req, app) -> bool:
    """Whether this request's page could be shared at all (before any visitor is looked at):
    a GET of a cacheable page, with the page cache and the memo on."""
    return (
        req.method == "GET"
        and req.endpoint in page_cache.CACHEABLE
        and app.config["SETTINGS"].page_cache_ttl > 0
        and memo_of(app).entries > 0
    )


def memo_key(ctx, page_stamp: str | None, pinned: bool, req=None, app=None) -> str | None:
    """This request's memo key, or None when its page is not shared: not a cacheable page, the
    memo (no entries: STOREFRONT_PAGE_MEMO_ENTRIES=0) or the page cache switched off, no stamp
    (a pin naming a missing version), or a visitor with state of their own (shareable).
    `req` and `app`: the request and app, when the caller holds them (no proxy lookups)."""
    req = req or request._get_current_object()
    app = app or current_app._get_current_object()
    if (
        page_stamp is None
        or not eligible(req, app)
        or not shareable(ctx, req.endpoint.removeprefix("shop."), pinned, app)
    ):
        return None
    settings = app.config["SETTINGS"]
    names, blanks = page_cache.shaping(settings.geo_headers, UNKEYED)
    raw = "\0".join(
        (
            page_stamp,
            req.script_root,  # the page's links
            f"{req.path}?{req.query_string.decode()}",
            req.host,
            *map(req.environ.get, names, blanks),
        )
    ).encode("utf-8", "replace")
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def serve(ctx, key: str, page_stamp: str, app=None) -> Response | None:
    """The kept page for `key` as this visitor's response (their own CSRF token in it, the
    clock refreshed), or None when there is none."""
    pieces = memo_of(app or current_app._get_current_object()).get(key)
    if pieces is None:
        return None
    cached = pieces[0] if len(pieces) == 1 else token().encode().join(pieces)
    return page_cache.serve(ctx, cached, page_stamp)


def token() -> str:
    """This visitor's CSRF token: flask-wtf's (generate_csrf: its secret kept in their Flask
    session, so the response sets the same cookie), and the templates' csrf_token() (the app
    factory sets it in place of generate_csrf: a built page's basket form, a memo page's). A
    token never expires here (WTF_CSRF_TIME_LIMIT None) and stands for the secret in the
    session cookie, so the one made for a cookie is kept by the cookie as sent (bounded), as a
    warm page keeps the one it was built with: no session decoded, no token signed again. A
    request that changed its Flask session (a sign-in clears it) gets a token signed anew."""
    app = current_app._get_current_object()
    config = app.config
    raw = lookup(request.cookies, config["SESSION_COOKIE_NAME"])
    if raw is None or config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return generate_csrf()
    memo = memo_of(app)
    kept = memo.tokens.get(raw)
    if kept is not None and not session.modified:
        return kept
    made = generate_csrf()
    if not session.modified:  # the secret was in the cookie: the token is the cookie's
        memo.keep_token(raw, made)
    return made


def keep(key: str, page_stamp: str, response: Response) -> None:
    """Keep the page just built under `key`, as page_cache.store's value (stamp, model and
    rules versions, the page), cut where the visitor's CSRF token stands."""
    head = (page_stamp, response.headers["X-Model-Version"], response.headers["X-Rules-Version"])
    value = b"".join((page_cache.SEP.join((*head, "")).encode(), response.get_data()))
    memo_of(current_app._get_current_object()).put(key, _without_token(value))


def _without_token(value: bytes) -> tuple[bytes, ...]:
    """The page in pieces around this request's CSRF token, if the page holds one: a page
    that rendered csrf_token() left its secret in the Flask session (without it there, no
    token can be in the page, and none is made here: that would set a cookie); the token is
    token()'s, the one the page's csrf_token() gave."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if name not in session:
        return (value,)
    return tuple(value.split(token().encode()))


def new_state(response: Response, secure: bool) -> str:
    """Give the browser a new state mark (module docstring): its next page, on any worker,
    reads the session again rather than a note made before this change. Its value. A cookie
    of the browser's session, readable by the tracker, which sets it too: no secret, only a
    change's mark (a forged one only makes the sender's own next page read the session)."""
    mark = secrets.token_urlsafe(8)
    response.set_cookie(STATE_COOKIE, mark, httponly=False, samesite="Lax", secure=secure)
    return mark


def note_of(
    state: SessionState, written: dict[str, str], mark: str, at: float | None = None
) -> Note:
    """The note for a visitor: their session as read, with the facts this request wrote into
    their record (SessionStore.touch: last seen, the visit), so that the note agrees with what
    the next read would bring; without the page and fragments that came with the read (the
    next page reads its own copy) and without an exposure ledger longer than NOTE_LEDGER_MAX
    (a page built from the note reads it). `at`: when the session was read (a page served
    from a note keeps the note's time: only a read renews it); None: now."""
    ledger = state.exposures
    if ledger is not None and _ledger_size(ledger) > NOTE_LEDGER_MAX:
        ledger = None
    if (
        state.cached_page is not None
        or state.cached_fragments is not None
        or ledger is not state.exposures
    ):
        state = replace(state, cached_page=None, cached_fragments=None, exposures=ledger)
    if written:
        fields = dict(state.visit_fields)
        fields.update((k, v) for k, v in written.items() if k.startswith(VISIT_PREFIX))
        state = replace(
            state,
            first_seen=state.first_seen or _float(written, "first_seen"),
            last_seen=_float(written, "last_seen") or state.last_seen,
            provisional=written.get("provisional") == "1",
            visit_fields=fields,
        )
    return Note(state, mark, time.monotonic() if at is None else at)


def _ledger_size(ledger) -> int:
    """A ledger's size in characters as the session read packed it (session.PackedLedger),
    else about 24 per product."""
    raw = getattr(ledger, "packed", None)
    return len(raw) if raw is not None else 24 * len(ledger)


def _float(facts: dict[str, str], name: str) -> float | None:
    return float(facts[name]) if name in facts else None
