"""What accepted events change in Redis: the live stream, the session, traits and exposures.

All of one batch's changes go in one MULTI/EXEC. Impressions do not bump the session version
(they would invalidate every personal fragment on every page); only when an impression takes a
product over this shopper's back-off threshold is the version bumped, so the next page drops it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

from recommender.signals import ENGAGEMENTS
from storefront import exposure, trending
from storefront.catalog import Catalog
from storefront.preferences import signal_off
from storefront.redis_client import EVENT_STREAM, EXPOSURE, PREFS, TRAITS, is_cluster, key
from storefront.session import SessionStore
from storefront.traits import signal_fields

STREAM_MAXLEN = 100_000
ENGAGEMENT = ENGAGEMENTS  # the kinds with a positive weight in the one table (signals.py)
# the cart itself is owned by the cart form (POST /cart); a purchase joins the session's
# history at once (its `bought` list), whatever the consent: the session adapts under GPC too
SESSION_TYPES = {"view", "click", "purchase"}


def apply(
    sessions: SessionStore,
    catalog: Catalog,
    visitor: str,
    events: Sequence,  # events.Event, validated
    lasting: bool,  # False under Sec-GPC / DNT: only the session adapts, nothing is kept
    live: trending.Where | None = None,  # where and when for the visitor: trending's window
    live_days: int = 7,
) -> None:
    if not events:
        return
    r: redis.Redis = sessions.r
    prefs = r.hgetall(key(PREFS, visitor))
    learn = lasting and not signal_off(prefs, "history")
    if live is not None and signal_off(prefs, "location"):  # counted for no country
        live = trending.Where(None, live.daypart, live.day)
    counted = False
    now = time.time()
    tk, ek = key(TRAITS, visitor), key(EXPOSURE, visitor)
    pipe = r.pipeline(transaction=True)  # the visitor's keys: one hash slot
    # the shared keys (the stream, trending's live counts) are in other slots on a Redis
    # Cluster: written beside the transaction
    stream = r.pipeline(transaction=False) if is_cluster(r) else pipe
    impressions: list[str] = []
    session_changed = False
    for e in sorted(events, key=lambda e: e.ts):
        if lasting:
            stream.xadd(
                key(EVENT_STREAM),
                {
                    "id": e.id,
                    "visitor": visitor,
                    "type": e.type,
                    "product_id": e.product_id or "",
                    "slot": e.slot or "",
                    "channel": e.channel,
                    "ts": e.ts.isoformat(),
                },
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
        product = catalog.get(e.product_id) if e.product_id else None
        if e.type in SESSION_TYPES and product is not None:
            sessions.record(pipe, visitor, e.type, product.id)
            session_changed = True
        if not learn or product is None:
            continue
        if live is not None:
            counted = trending.count(stream, live, product.id, e.type) or counted
        if e.type == "impression":
            pipe.hincrby(ek, product.id, 1)
            pipe.hincrby(ek, "_s", 1)
            pipe.hincrby(tk, f"cs:{product.category}", 1)
            impressions.append(product.id)
        elif e.type in ENGAGEMENT:
            pipe.hincrby(ek, f"{product.id}:e", 1)
            pipe.hincrby(ek, "_e", 1)
            pipe.hincrby(tk, f"ce:{product.category}", 1)
            for field, inc in signal_fields(e.type, product.category, product.band, now).items():
                pipe.hincrbyfloat(tk, field, inc)
            session_changed = True
    if learn:
        pipe.expire(tk, sessions.ttl)
        pipe.expire(ek, sessions.ttl)
    if counted:
        trending.bound(stream, live, live_days)
    if session_changed and learn:
        sessions.bump(pipe, visitor)
    sessions.commit(pipe)  # executes it; mirrors the version on a cache server of its own
    if stream is not pipe:
        stream.execute()
    if impressions:
        _check_pressure(sessions, visitor, impressions)


def _check_pressure(sessions: SessionStore, visitor: str, product_ids: list[str]) -> None:
    """Bump the session version when a product just crossed the back-off threshold."""
    r = sessions.r
    ek = key(EXPOSURE, visitor)
    fields = ["_s", "_e", *product_ids, *(f"{p}:e" for p in product_ids)]
    values = r.hmget(ek, fields)
    ledger = {f: v for f, v in zip(fields, values, strict=True) if v is not None}
    limit = exposure.threshold(int(ledger.get("_s", 0)), int(ledger.get("_e", 0)))
    crossed = [
        p
        for p in product_ids
        if int(ledger.get(p, 0)) == limit and int(ledger.get(f"{p}:e", 0)) == 0
    ]
    if crossed:
        pipe = r.pipeline(transaction=True)
        sessions.bump(pipe, visitor)
        sessions.commit(pipe)
    if r.hlen(ek) > exposure.MAX_FIELDS:  # keep the ledger bounded: keep totals, drop the rest
        totals = r.hmget(ek, ["_s", "_e"])
        pipe = r.pipeline(transaction=True)
        pipe.delete(ek)
        pipe.hset(ek, mapping={"_s": totals[0] or 0, "_e": totals[1] or 0})
        pipe.expire(ek, sessions.ttl)
        pipe.execute()


def read_ledger(r: redis.Redis, visitor: str, product_ids: Sequence[str]) -> dict[str, str]:
    """The exposure counts of some products, with the shopper's totals."""
    fields = ["_s", "_e", *product_ids, *(f"{p}:e" for p in product_ids)]
    values = r.hmget(key(EXPOSURE, visitor), fields)
    return {f: v for f, v in zip(fields, values, strict=True) if v is not None}
