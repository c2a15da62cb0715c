"""Interactions imported from another system (views, clicks, add-to-carts, ratings), for training.

So that a shop without order history can start: `storefront import interactions FILE` stores
one row per interaction with its weight, and training adds them to the orders exactly as it adds
the live event log (dataset.build_interactions' `extra`): as fractions of an order. The default
weight of each type is the one table's (signals.WEIGHTS), so an imported view weighs what a
view on this shop weighs in training, fold-in and traits; a rating weighs up to one order,
scaled by how high it is. Reading the table is the shop's side (storefront/interactions.py):
this module imports nothing of it.
"""

from __future__ import annotations

import pandas as pd

from recommender import signals

# the one table's weights (an order-equivalent each; a purchase is one order) for the types an
# import can carry, plus a rating: up to one order, times its share of its scale (4 of 5: 0.8)
WEIGHTS: dict[str, float] = {k: w for k, w in signals.WEIGHTS.items() if w > 0} | {"rating": 1.0}


def weights(overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The default table with the operator's overrides; unknown types are refused by name."""
    table = dict(WEIGHTS)
    for kind, weight in (overrides or {}).items():
        if kind not in table:
            raise ValueError(f"unknown interaction type {kind!r}; known: {', '.join(table)}")
        if not weight >= 0:
            raise ValueError(f"the weight of {kind} must be 0 or more, not {weight}")
        table[kind] = float(weight)
    return table


def pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """rows (customer_id, product_id, weight, ts) -> one row per (shopper, product): weights
    summed, latest time kept, pairs that weigh nothing dropped (build_interactions' `extra`)."""
    cols = ["customer_id", "product_id", "weight", "ts"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    out = (
        rows.assign(ts=pd.to_datetime(rows["ts"]))
        .groupby(["customer_id", "product_id"], observed=True)
        .agg(weight=("weight", "sum"), ts=("ts", "max"))
        .reset_index()
    )
    return out[out["weight"] > 0][cols].reset_index(drop=True)


def as_lines(pairs_: pd.DataFrame) -> pd.DataFrame:
    """(shopper, product) pairs as stand-in order lines, one "order" each, for the popularity
    lists of a shop that has interactions but no orders yet: without them its bestseller and
    trending rails would stay empty. Distinct shoppers per product is what those lists count."""
    who = pairs_["customer_id"].astype(str)
    return pd.DataFrame(
        {
            "invoice": "interaction:" + who + ":" + pairs_["product_id"].astype(str),
            "product_id": pairs_["product_id"].astype(str),
            "customer_id": who,
            "quantity": 1,
            "price": float("nan"),
            "ts": pd.to_datetime(pairs_["ts"]),
            "country": None,
        }
    )
