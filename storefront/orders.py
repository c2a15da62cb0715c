"""Placed orders, kept for their confirmation page and the transactional email.

The demo checkout has no payment step: an order is the basket at the moment it was placed
(products, quantities, the prices then, the shop's currency), kept in the session store under
`sf:order:<id>` for the session's lifetime (STOREFRONT_SESSION_TTL), whatever the privacy
signals say: it is the shopper's own transaction, not tracking. Its lines are also recorded as
purchase events (events.record), which is what teaches the shop.

The order's key does not name its visitor, so each visitor's order ids are also listed under
`sf:orders:{v:<visitor>}` (the visitor's hash tag; newest first, at most MAX_PER_VISITOR, the
session's TTL renewed at each order, so it outlives every order it lists): a deletion
(storefront/privacy.py) and the audit find a person's orders there. An order pushed out of the
list is deleted with it, so no order is ever out of reach. `placed_by` also reads the orders
themselves (SCAN of `sf:order:*`) for those saved before the list existed.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import redis

from storefront.redis_client import ORDER, ORDERS, key

ORDER_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_PER_VISITOR = 100  # orders kept per visitor within the session's TTL


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    title: str
    quantity: int
    price: float  # each, in the order's currency, as charged


@dataclass(frozen=True)
class Order:
    id: str
    visitor: str
    placed: datetime  # UTC
    currency: str | None
    lines: tuple[OrderLine, ...]

    @property
    def total(self) -> float:
        return round(sum(line.price * line.quantity for line in self.lines), 2)

    @property
    def items(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(line.product_id for line in self.lines)


def new_id() -> str:
    return secrets.token_hex(8)


def save(r: redis.Redis, order: Order, ttl: int) -> None:
    body = {
        "visitor": order.visitor,
        "placed": order.placed.isoformat(),
        "currency": order.currency,
        "lines": [[x.product_id, x.title, x.quantity, x.price] for x in order.lines],
    }
    r.set(key(ORDER, order.id), json.dumps(body), ex=ttl)
    # the list is in the visitor's slot, the order in its own: one key per call (Redis Cluster)
    index = key(ORDERS, order.visitor)
    r.lpush(index, order.id)
    r.expire(index, ttl)
    for old in r.lrange(index, MAX_PER_VISITOR, -1):
        r.unlink(key(ORDER, old))
    r.ltrim(index, 0, MAX_PER_VISITOR - 1)


def placed_by(r: redis.Redis, visitors: list[str]) -> list[str]:
    """The keys of every stored order of these visitors: those their lists name (that still
    exist), and any order whose recap names one of them (SCAN of the order keys: orders saved
    before the lists existed, or whose list was lost). One key per call: orders sit in
    different cluster slots."""
    wanted = set(visitors)
    found: set[str] = set()
    for v in visitors:
        for order_id in r.lrange(key(ORDERS, v), 0, -1):
            if r.exists(key(ORDER, order_id)):
                found.add(key(ORDER, order_id))
    for name in r.scan_iter(match=key(ORDER, "*"), count=1000):
        if name in found:
            continue
        raw = r.get(name)
        if raw is not None and json.loads(raw).get("visitor") in wanted:
            found.add(name)
    return sorted(found)


def load(r: redis.Redis, order_id: str) -> Order | None:
    """The order, or None: unknown, expired, or not an order id at all."""
    if not ORDER_ID.match(order_id):
        return None
    raw = r.get(key(ORDER, order_id))
    if raw is None:
        return None
    body = json.loads(raw)
    return Order(
        id=order_id,
        visitor=body["visitor"],
        placed=datetime.fromisoformat(body["placed"]),
        currency=body.get("currency"),
        lines=tuple(OrderLine(p, t, int(q), float(price)) for p, t, q, price in body["lines"]),
    )
