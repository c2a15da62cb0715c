"""Buy again: a customer's own products, ranked the way a person would write them down.

A product bought several times has a re-order interval (first to last order, divided by the
orders between); it ranks highest when it is due (days since the last order near the interval),
weighted by how often it was bought, and fades once long overdue (perhaps no longer wanted).
A product bought once ranks by recency, below anything bought regularly and due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Owned:
    product_id: str
    orders: float  # real orders of this product by this customer
    age_days: float  # since the last of them
    span_days: float  # first to last order

    @property
    def interval_days(self) -> float | None:
        if self.orders < 2 or not math.isfinite(self.span_days):
            return None
        return max(self.span_days / (self.orders - 1), 1.0)


def score(o: Owned) -> float:
    interval = o.interval_days
    if interval is None:
        return 0.5 * math.exp(-o.age_days / 180.0)
    due = o.age_days / interval
    overdue = max(0.0, due - 1.5)
    return o.orders * min(due, 1.0) / (1.0 + overdue)


def rank(owned: list[Owned]) -> list[tuple[Owned, float]]:
    scored = [(o, score(o)) for o in owned if o.orders >= 1]
    scored.sort(key=lambda t: (-t[1], -t[0].orders, t[0].product_id))
    return scored


def cadence(interval_days: float) -> str:
    """Plain words for a re-order interval."""
    if interval_days <= 10:
        return "about weekly"
    if interval_days <= 20:
        return "about every two weeks"
    if interval_days <= 45:
        return "about monthly"
    if interval_days <= 75:
        return "about every two months"
    months = round(interval_days / 30)
    return f"about every {months} months"
