"""Export and delete a shopper's data: events, session, exposures, traits, preferences, caches.

Whose data a request reaches is decided by the session, not by the cookie's id alone: a
signed-in customer gets every visitor id stitched to them; anyone else gets their own id, and
that id's SQL history only while it was never merged into a customer at a sign-in (a cookie
held from before someone signed in reaches nothing of theirs: session fixation, issue #16).
Deletion leaves no row or key of its scope behind: the SQL events and identities, every
per-visitor Redis key, personal fragments (their keys carry the visitor id) and entries of the
live event stream.
"""

from __future__ import annotations

from datetime import datetime

import redis
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from storefront import db, rate_limits
from storefront.core.keytags import visitor_tag
from storefront.identity import customer_of, visitors_of_customer
from storefront.redis_client import (
    CART,
    CUSTOMER,
    EVENT_STREAM,
    EXPOSURE,
    FRAGMENT,
    PAGE,
    PAGE_PARTS,
    PENDING_EXPOSURES,
    PREFS,
    SEEN_EVENTS,
    SESSION_VERSION,
    TRAITS,
    VIEWS,
    VISITOR,
    key,
)

PER_VISITOR = (
    VIEWS,
    CART,
    SESSION_VERSION,
    VISITOR,
    TRAITS,
    EXPOSURE,
    PREFS,
    SEEN_EVENTS,
    PENDING_EXPOSURES,
)


def scope(engine: Engine, visitor_id: str, customer_id: str | None) -> tuple[list[str], list[str]]:
    """(visitor ids whose Redis state, and those whose SQL rows, belong to this person).

    `customer_id` is the customer this session is signed in as (its VISITOR hash), or None.
    Signed in: every id stitched to the customer. Not signed in: this id alone, and its SQL
    rows only while it is linked to no customer: once merged at a sign-in its history is the
    customer's, whoever else still holds the cookie."""
    if customer_id is not None:
        visitors = sorted({visitor_id, *visitors_of_customer(engine, customer_id)})
        return visitors, visitors
    return [visitor_id], [] if customer_of(engine, visitor_id) else [visitor_id]


def export(engine: Engine, r: redis.Redis, visitor_id: str, customer_id: str | None) -> dict:
    """Everything the shop holds about this person, as JSON-ready data."""
    visitors, rows_of = scope(engine, visitor_id, customer_id)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(db.events).where(db.events.c.visitor.in_(rows_of)).order_by(db.events.c.ts)
            )
            .mappings()
            .all()
        )
        links = (
            conn.execute(select(db.identities).where(db.identities.c.visitor.in_(rows_of)))
            .mappings()
            .all()
        )

    def plain(row) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}

    state = {}
    for v in visitors:
        state[v] = {
            "recently_viewed": r.lrange(key(VIEWS, v), 0, -1),
            "cart": r.hgetall(key(CART, v)),
            "visitor": r.hgetall(key(VISITOR, v)),
            "traits": r.hgetall(key(TRAITS, v)),
            "exposures": r.hgetall(key(EXPOSURE, v)),
            "preferences": r.hgetall(key(PREFS, v)),
        }
    return {
        "visitor_ids": visitors,
        "identities": [plain(x) for x in links],
        "events": [plain(x) for x in rows],
        "state": state,
    }


def _scan_delete(r: redis.Redis, pattern: str) -> int:
    n = 0
    batch: list[str] = []
    for k in r.scan_iter(match=pattern, count=1000):
        batch.append(k)
        if len(batch) >= 500:
            n += r.unlink(*batch)
            batch = []
    if batch:
        n += r.unlink(*batch)
    return n


def _stream_entries(r: redis.Redis, stream: str, chunk: int = 2000):
    """Every entry of a stream, read in chunks: each call stays well inside the client's short
    timeout (STOREFRONT_REDIS_TIMEOUT) however long the stream is (up to ~100,000 entries)."""
    start = "-"
    while True:
        entries = r.xrange(stream, min=start, count=chunk)
        yield from entries
        if len(entries) < chunk:
            return
        ms, seq = entries[-1][0].split("-")
        start = f"{ms}-{int(seq) + 1}"  # the next possible id after the last one read


def delete_person(
    engine: Engine,
    r: redis.Redis,
    visitor_id: str,
    customer_id: str | None,
    cache: redis.Redis | None = None,
) -> dict:
    """Delete every trace of this person (`scope`); returns counts of what was removed.
    Fragments and pages are deleted from `cache` (the cache server, when it is not `r`)."""
    cache = r if cache is None else cache
    visitors, rows_of = scope(engine, visitor_id, customer_id)
    with engine.begin() as conn:
        customers = set(
            conn.execute(
                select(db.identities.c.customer_id).where(db.identities.c.visitor.in_(rows_of))
            ).scalars()
        )
        events = conn.execute(delete(db.events).where(db.events.c.visitor.in_(rows_of))).rowcount
        conn.execute(delete(db.identities).where(db.identities.c.visitor.in_(rows_of)))
    keys = 0
    for v in visitors:
        keys += r.unlink(*(key(p, v) for p in PER_VISITOR))
        keys += _scan_delete(cache, key(FRAGMENT, "*", "v", visitor_tag(v), "*"))
        keys += _scan_delete(cache, key(PAGE, v, "*"))
        keys += _scan_delete(cache, key(PAGE_PARTS, v, "*"))
        keys += _scan_delete(r, f"{rate_limits.KEY_PREFIX}:LIMITER/events/{v}/*")
    for c in customers:
        keys += r.unlink(key(CUSTOMER, c))
    stream = key(EVENT_STREAM)
    doomed = [
        entry_id
        for entry_id, fields in _stream_entries(r, stream)
        if fields.get("visitor") in visitors
    ]
    for i in range(0, len(doomed), 500):
        r.xdel(stream, *doomed[i : i + 500])
    return {
        "visitors": len(visitors),
        "events": events,
        "keys": keys,
        "stream_entries": len(doomed),
    }
