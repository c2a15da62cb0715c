"""Identity stitching: every device a customer signs in on shares one visitor id.

Signing in links the anonymous visitor to the customer (SQL `identities`, durable, so its
events count for the customer in training) and merges this visitor's session, traits, exposures
and preferences into the customer's canonical visitor id, which the browser gets from then on.
The canonical id is never the one the browser came with: it is minted at the first sign-in (or
is the one the customer's other devices already got), because the old cookie may be one an
attacker planted or shares (session fixation, issue #16 item 7). The old id is retired: its
state moves over and a mark (VISITOR hash, `retired`) makes the shop give whoever still
presents it a fresh anonymous id. Signing out retires the signed-in id the same way, moving the
customer's state to a newly minted canonical id. Who may read or delete a person's data is
decided from the current session's signed-in customer, never from `identities` lookups of a
cookie (storefront/privacy.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.redis_client import (
    CART,
    CUSTOMER,
    EXPOSURE,
    PREFS,
    TRAITS,
    VIEWS,
    VISITOR,
    across_slots,
    key,
)
from storefront.session import MAX_VIEWS, SessionStore
from storefront.visitor import MAX_AGE, new_visitor_id

MINTED = "minted"  # VISITOR hash field: a canonical id minted by sign_in (not an older cookie)
RETIRED = "retired"  # VISITOR hash field: merged into a customer's id; gives nothing any more


def link(engine: Engine, visitor_id: str, customer_id: str) -> None:
    with engine.begin() as conn:
        exists = conn.execute(
            select(db.identities.c.visitor).where(db.identities.c.visitor == visitor_id)
        ).first()
        if exists:
            conn.execute(
                db.identities.update()
                .where(db.identities.c.visitor == visitor_id)
                .values(customer_id=customer_id)
            )
        else:
            conn.execute(
                db.identities.insert().values(
                    visitor=visitor_id,
                    customer_id=customer_id,
                    linked=datetime.now(UTC).replace(tzinfo=None),
                )
            )


def visitors_of_customer(engine: Engine, customer_id: str) -> list[str]:
    """Every visitor id stitched to this customer (sorted)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(db.identities.c.visitor).where(db.identities.c.customer_id == customer_id)
        ).scalars()
        return sorted(set(rows))


def customer_of(engine: Engine, visitor_id: str) -> str | None:
    """The customer this visitor id was linked to at a sign-in, if any."""
    with engine.connect() as conn:
        return conn.execute(
            select(db.identities.c.customer_id).where(db.identities.c.visitor == visitor_id)
        ).scalar()


def _merge(r: redis.Redis, source: str, target: str, ttl: int) -> None:
    """Fold the source visitor's state into the target's, remove the source's keys and mark
    the source retired (for as long as its cookie could live)."""
    views_s = r.lrange(key(VIEWS, source), 0, MAX_VIEWS - 1)
    views_t = r.lrange(key(VIEWS, target), 0, MAX_VIEWS - 1)
    merged = list(dict.fromkeys(views_s + views_t))[:MAX_VIEWS]
    cart = r.hgetall(key(CART, source))
    traits = r.hgetall(key(TRAITS, source))
    expo = r.hgetall(key(EXPOSURE, source))
    prefs = r.hgetall(key(PREFS, source))
    # the visit goes on on the customer's id: its arrival and recency (core/visit.py)
    visit = {f: v for f, v in r.hgetall(key(VISITOR, source)).items() if f.startswith("v:")}
    pipe = across_slots(r)  # two visitors: two hash slots on a Redis Cluster
    if visit:
        pipe.hset(key(VISITOR, target), mapping=visit)
    if merged:
        pipe.delete(key(VIEWS, target))
        pipe.rpush(key(VIEWS, target), *merged)
        pipe.expire(key(VIEWS, target), ttl)
    for pid, q in cart.items():
        pipe.hincrby(key(CART, target), pid, int(q))
    for f, v in traits.items():
        pipe.hincrbyfloat(key(TRAITS, target), f, float(v))
    for f, v in expo.items():
        pipe.hincrby(key(EXPOSURE, target), f, int(float(v)))
    for f, v in prefs.items():
        pipe.hsetnx(key(PREFS, target), f, v)
    for k in (CART, TRAITS, EXPOSURE):
        pipe.expire(key(k, target), ttl)
    pipe.expire(key(PREFS, target), 365 * 86400)
    pipe.delete(*(key(k, source) for k in (VIEWS, CART, TRAITS, EXPOSURE, PREFS, VISITOR)))
    pipe.hset(key(VISITOR, source), RETIRED, f"{datetime.now(UTC).timestamp():.0f}")
    pipe.expire(key(VISITOR, source), MAX_AGE)
    pipe.execute()


def _settle(
    engine: Engine, sessions: SessionStore, customer_id: str, carry: list[str], rotate: bool
) -> str:
    """Merge the `carry` visitor ids into the customer's canonical id and retire them; return
    the canonical id. A new one is minted when the customer has none, when theirs predates
    minting (an older release kept the browser's own cookie, which may be planted), or when
    `rotate` (signing out)."""
    r = sessions.r
    ck = key(CUSTOMER, customer_id)
    canonical = current = r.get(ck)
    if current is not None and (rotate or not r.hexists(key(VISITOR, current), MINTED)):
        carry = [current, *carry]
        canonical = None
    if canonical is None:
        canonical = new_visitor_id()
        # two devices signing in at once for the first time: the first to mint wins, the other
        # joins it (a rotation replaces the old id whatever happens)
        if current is None and not r.set(ck, canonical, ex=sessions.ttl, nx=True):
            canonical = r.get(ck) or canonical
        link(engine, canonical, customer_id)
    for source in dict.fromkeys(carry):
        if source != canonical:
            _merge(r, source, canonical, sessions.ttl)
    r.set(ck, canonical, ex=sessions.ttl)
    pipe = r.pipeline(transaction=True)
    pipe.hset(key(VISITOR, canonical), mapping={"customer": customer_id, MINTED: "1"})
    pipe.expire(key(VISITOR, canonical), sessions.ttl)
    sessions.bump(pipe, canonical)
    sessions.commit(pipe)
    return canonical


def sign_in(
    engine: Engine, sessions: SessionStore, visitor_id: str | None, customer_id: str
) -> str:
    """Link and stitch; return the visitor id this browser should use from now on, never
    `visitor_id` itself unless it already is the customer's minted canonical id. `visitor_id`
    None: nothing to carry over (the browser was signed in as someone else)."""
    if visitor_id is None:
        return _settle(engine, sessions, customer_id, [], rotate=False)
    link(engine, visitor_id, customer_id)  # its events keep counting for the customer
    return _settle(engine, sessions, customer_id, [visitor_id], rotate=False)


def sign_out(engine: Engine, sessions: SessionStore, visitor_id: str, customer_id: str) -> None:
    """Retire this signed-in visitor id: the customer's state moves to a newly minted canonical
    id, so the cookie signed out here (and on the customer's other devices, which shared it)
    reaches nothing of theirs any more. The browser then gets a fresh anonymous id."""
    _settle(engine, sessions, customer_id, [visitor_id], rotate=True)
