"""Buy again: a customer's own products, ranked the way a person would write them down.

A product bought several times has a re-order interval (first to last order, divided by the
orders between); it ranks highest when it is due (days since the last order near the interval),
weighted by how often it was bought, and fades once long overdue (perhaps no longer wanted).
A product bought once ranks by recency, below anything bought regularly and due.
`repeat_shares` learns how much each customer re-orders at all (the for-you blend uses it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


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


PRIOR_LINES = 20.0  # how many later-order lines of evidence it takes to outweigh the shop's mean


def repeat_shares(
    lines: pd.DataFrame, user_ids: np.ndarray, prior_lines: float = PRIOR_LINES
) -> tuple[np.ndarray, np.ndarray, float]:
    """How much each customer re-orders, learned from their own history.

    Lines of a customer's first order cannot be re-orders, so only the lines of their later
    orders are evidence: the share of those that were products the customer had already ordered.
    It is shrunk towards the shop's pooled share with `prior_lines` lines' weight, so a
    customer with one order gets the shop's mean and one with a few lines moves only a little.
    Returns (share per user in user_ids order, orders per user, the shop's pooled share)."""
    known = lines[lines["customer_id"].notna()]
    known = known[["customer_id", "invoice", "product_id", "ts"]].astype(
        {"customer_id": str, "product_id": str, "invoice": str}
    )
    placed = known.groupby(["customer_id", "invoice"])["ts"].min().rename("placed").reset_index()
    pairs = known.drop_duplicates(["customer_id", "invoice", "product_id"])
    pairs = pairs.drop(columns="ts").merge(placed, on=["customer_id", "invoice"])
    first_order = pairs.groupby("customer_id")["placed"].transform("min")
    first_time = pairs.groupby(["customer_id", "product_id"])["placed"].transform("min")
    later = pairs["placed"] > first_order
    repeat = (pairs["placed"] > first_time)[later]
    stats = repeat.groupby(pairs.loc[later, "customer_id"]).agg(["sum", "count"])
    repeats = stats["sum"].reindex(user_ids).fillna(0).to_numpy(dtype=np.float64)
    evidence = stats["count"].reindex(user_ids).fillna(0).to_numpy(dtype=np.float64)
    total = float(stats["count"].sum())
    mean = float(stats["sum"].sum()) / total if total else 0.0
    weight = evidence + prior_lines
    shares = np.full(len(repeats), mean)
    np.divide(repeats + prior_lines * mean, weight, out=shares, where=weight > 0)
    orders = placed.groupby("customer_id").size().reindex(user_ids).fillna(0)
    return shares.astype(np.float32), orders.to_numpy(dtype=np.float32), mean
