"""Interactions from the shop's own event log (the SQL `events` table), for retraining.

Each event becomes a fraction of an order for its (shopper, product) pair, added to the orders
imported from the shop's exports before the confidence transform (dataset.build_interactions),
by the one table of event weights (signals.WEIGHTS: purchase 1.0 · add_to_cart 0.5 ·
remove_from_cart -0.5 · click 0.25 · view 0.1), the same table fold-in and traits read:
so ten views weigh like one order, and an add later removed cancels out. Impressions and
searches are not interactions with a product. A visitor who signed in is their customer id
(the `identities` table); anyone else is "visitor:<id>", a user of their own. Events of
shoppers who sent Sec-GPC / DNT never reach the table, so they never reach a model. The shop
reads the tables (storefront/training_data.read_events); this module takes them as frames.
"""

from __future__ import annotations

import pandas as pd

from recommender.signals import WEIGHTS  # the one table (signals.py)

__all__ = ["VISITOR_PREFIX", "WEIGHTS", "devices", "interactions"]

VISITOR_PREFIX = "visitor:"


def interactions(events: pd.DataFrame, identities: pd.DataFrame | None = None) -> pd.DataFrame:
    """events (visitor, type, product_id, ts[, quantity]) -> customer_id, product_id, weight,
    ts; one row per (shopper, product), weights summed, pairs that net to nothing dropped."""
    cols = ["customer_id", "product_id", "weight", "ts"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    ev = events[events["type"].isin(list(WEIGHTS)) & events["product_id"].notna()].copy()
    who = pd.Series(VISITOR_PREFIX + ev["visitor"].astype(str), index=ev.index)
    if identities is not None and not identities.empty:
        linked = identities.set_index("visitor")["customer_id"].astype(str)
        stitched = ev["visitor"].map(linked)
        who = stitched.where(stitched.notna(), who)
    ev["customer_id"] = who
    ev["weight"] = ev["type"].map(WEIGHTS).astype(float)
    ev["ts"] = pd.to_datetime(ev["ts"])
    pairs = (
        ev.groupby(["customer_id", "product_id"], observed=True)
        .agg(weight=("weight", "sum"), ts=("ts", "max"))
        .reset_index()
    )
    return pairs[pairs["weight"] > 0][cols].reset_index(drop=True)


def devices(events: pd.DataFrame, identities: pd.DataFrame | None = None) -> pd.Series:
    """Each shopper's most used device class (a user feature where the log knows it)."""
    if events.empty or "device" not in events:
        return pd.Series(dtype=object)
    ev = events.dropna(subset=["device"])
    who = VISITOR_PREFIX + ev["visitor"].astype(str)
    if identities is not None and not identities.empty:
        linked = ev["visitor"].map(identities.set_index("visitor")["customer_id"].astype(str))
        who = linked.where(linked.notna(), who)
    counts = pd.DataFrame({"who": who, "device": ev["device"]}).value_counts().reset_index()
    return counts.drop_duplicates("who").set_index("who")["device"]
