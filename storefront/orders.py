"""Placed orders, kept for their confirmation page and the transactional email.

The demo checkout has no payment step: an order is the basket at the moment it was placed
(products, quantities, the prices then, the shop's currency), kept in the session store under
`sf:order:<id>` for the session's lifetime (STOREFRONT_SESSION_TTL), whatever the privacy
signals say: it is the shopper's own transaction, not tracking. Its lines are also recorded as
purchase events (events.record), which is what teaches the shop.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import redis

from storefront.redis_client import ORDER, key

ORDER_ID = re.compile(r"^[0-9a-f]{16}$")


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
