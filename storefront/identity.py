"""Identity stitching: every device a customer signs in on shares one visitor id.

Signing in links the anonymous visitor to the customer (SQL `identities`, durable) and, when the
customer already has a visitor id from another device, merges this visitor's session, traits,
exposures and preferences into it and hands this browser that id. History is kept, not lost;
the events table keeps each raw visitor id and `identities` maps them all to the customer.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.redis_client import CART, CUSTOMER, EXPOSURE, PREFS, TRAITS, VIEWS, VISITOR, key
from storefront.session import MAX_VIEWS, SessionStore


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


def visitors_of(engine: Engine, visitor_id: str) -> list[str]:
    """All visitor ids stitched to the same customer as this one (itself included)."""
    with engine.connect() as conn:
        customer = conn.execute(
            select(db.identities.c.customer_id).where(db.identities.c.visitor == visitor_id)
        ).scalar()
        if customer is None:
            return [visitor_id]
        rows = (
            conn.execute(
                select(db.identities.c.visitor).where(db.identities.c.customer_id == customer)
            )
            .scalars()
            .all()
        )
    return sorted({visitor_id, *rows})


def _merge(r: redis.Redis, source: str, target: str, ttl: int) -> None:
    """Fold the source visitor's state into the target's, then remove the source's keys."""
    views_s = r.lrange(key(VIEWS, source), 0, MAX_VIEWS - 1)
    views_t = r.lrange(key(VIEWS, target), 0, MAX_VIEWS - 1)
    merged = list(dict.fromkeys(views_s + views_t))[:MAX_VIEWS]
    cart = r.hgetall(key(CART, source))
    traits = r.hgetall(key(TRAITS, source))
    expo = r.hgetall(key(EXPOSURE, source))
    prefs = r.hgetall(key(PREFS, source))
    pipe = r.pipeline(transaction=True)
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
    pipe.execute()


def sign_in(engine: Engine, sessions: SessionStore, visitor_id: str, customer_id: str) -> str:
    """Link and stitch; return the visitor id this browser should use from now on."""
    r = sessions.r
    link(engine, visitor_id, customer_id)
    ck = key(CUSTOMER, customer_id)
    canonical = r.get(ck)
    if canonical is None or canonical == visitor_id:
        r.set(ck, visitor_id, ex=sessions.ttl)
        canonical = visitor_id
    else:
        _merge(r, visitor_id, canonical, sessions.ttl)
        r.expire(ck, sessions.ttl)
    pipe = r.pipeline(transaction=True)
    pipe.hset(key(VISITOR, canonical), "customer", customer_id)
    pipe.expire(key(VISITOR, canonical), sessions.ttl)
    sessions.bump(pipe, canonical)
    pipe.execute()
    return canonical
