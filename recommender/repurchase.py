"""Buy again: a customer's own products, ranked the way a person would write them down.

What a customer buys next is, above all, what they buy most often and bought lately: the score
is the number of orders of a product, decayed by the time since the last one (e^(-age/365 d)).
A product bought several times also has a re-order interval (first to last order, divided by
the orders between): being due adds up to a quarter, and a regular long overdue (perhaps no
longer wanted) fades. Ties (products bought together in the same orders) go to what sells this
month. Measured on the temporal split (docs/evaluation.md, issue #10), this ranks a returning
customer's next purchases far better than due-ness alone (`due_score`, which the for-you blend
keeps as one of its features). `repeat_shares` learns how much each customer re-orders at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


DECAY_DAYS = 365.0  # how fast an order's weight fades (gift seasons come back within the year)
DUE_BONUS = 0.25  # being due lifts a regular by up to this share
OVERDUE_FADE = 0.2  # each re-order interval past 1.5 overdue divides a regular by 1 + this


def due_score(o: Owned) -> float:
    """Due-ness alone: a regular near its re-order interval highest, weighted by its orders,
    fading once long overdue; a one-off by recency. The blend's "due" feature (blend.due_scores)."""
    interval = o.interval_days
    if interval is None:
        return 0.5 * math.exp(-o.age_days / 180.0)
    due = o.age_days / interval
    overdue = max(0.0, due - 1.5)
    return o.orders * min(due, 1.0) / (1.0 + overdue)


def score(o: Owned) -> float:
    """How likely the customer is to order it again: how often, how lately, and how due."""
    base = o.orders * math.exp(-o.age_days / DECAY_DAYS)
    interval = o.interval_days
    if interval is None:
        return base
    due = o.age_days / interval
    return base * (1.0 + DUE_BONUS * min(due, 1.0)) / (1.0 + OVERDUE_FADE * max(0.0, due - 1.5))


def rank(
    owned: list[Owned], trending: Callable[[str], float] | None = None
) -> list[tuple[Owned, float]]:
    """Best first. trending: how well a product sells lately, to break ties (products bought
    in the same orders score the same)."""
    trend = trending or (lambda _pid: 0.0)
    scored = [(o, score(o)) for o in owned if o.orders >= 1]
    scored.sort(key=lambda t: (-round(t[1], 9), -trend(t[0].product_id), t[0].product_id))
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


# A product's store-wide re-order interval needs this many customers who ordered it again: the
# median of fewer is one shopper's habit, not the product's. Evidence, not a fitted constant.
MIN_REBUYERS = 3


@dataclass(frozen=True)
class Rebuy:
    """How this store's customers re-order one product: the median interval between their
    orders of it (days), how many re-ordered it, and how many bought it at all."""

    interval_days: float
    rebuyers: int
    buyers: int

    @property
    def share(self) -> float:
        return self.rebuyers / self.buyers if self.buyers else 0.0


def product_intervals(
    indptr: np.ndarray,
    indices: np.ndarray,
    orders: np.ndarray,
    spans: np.ndarray,
    n_items: int,
    min_rebuyers: int = MIN_REBUYERS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per product, fitted on the store's own orders at training: the median re-order
    interval of the customers who ordered it more than once (each customer's own interval,
    first to last order over the orders between, as Owned.interval_days), NaN where fewer
    than `min_rebuyers` did; how many re-ordered it; how many bought it. Arrays in item order
    (the users x items matrix's columns: indptr, indices and the per-entry orders and spans)."""
    del indptr  # the entries' columns are enough: a product's customers are its entries
    cols = np.asarray(indices, dtype=np.int64)
    orders = np.asarray(orders, dtype=np.float64)
    spans = np.asarray(spans, dtype=np.float64)
    bought = orders >= 1
    buyers = np.bincount(cols[bought], minlength=n_items).astype(np.int32)
    again = bought & (orders >= 2) & np.isfinite(spans)
    rebuyers = np.bincount(cols[again], minlength=n_items).astype(np.int32)
    intervals = np.full(n_items, np.nan, dtype=np.float32)
    if again.any():
        each = np.maximum(spans[again] / (orders[again] - 1), 1.0)
        frame = pd.DataFrame({"item": cols[again], "interval": each})
        medians = frame.groupby("item")["interval"].median()
        enough = medians.index[rebuyers[medians.index] >= min_rebuyers]
        intervals[enough] = medians.loc[enough].to_numpy(dtype=np.float32)
    return intervals, rebuyers, buyers
