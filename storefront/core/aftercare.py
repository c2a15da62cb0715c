"""After the purchase, as pure values: when each product just bought will be due again.

The interval is the shopper's own (a signed-in customer who has re-ordered the product before:
recommender/repurchase.Owned.interval_days) or else this store's, fitted at training from its
own customers' re-orders (repurchase.product_intervals, read with serving.Model.rebuy). A
product this store's customers do not re-order often enough has no note: nothing is guessed.
No Flask, no Redis: the confirmation page and the order's email fragment both read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from recommender.repurchase import cadence

if TYPE_CHECKING:
    from storefront.core.snapshot import Snapshot


@dataclass(frozen=True)
class DueAgain:
    product_id: str
    title: str
    interval_days: float
    due: date  # the order's date plus the interval
    basis: str  # "you": the shopper's own re-orders; "store": this store's customers'
    rebuyers: int = 0  # store basis: how many customers re-ordered it
    buyers: int = 0  # store basis: how many bought it

    @property
    def cadence(self) -> str:
        return cadence(self.interval_days)


def due_again(
    snap: Snapshot, customer_id: str | None, product_ids: Sequence[str], placed: date
) -> list[DueAgain]:
    """One note per product that will be due again, soonest first (products no longer in the
    catalog are left out)."""
    model = snap.model
    if model is None:
        return []
    own = {o.product_id: o for o in model.owned(customer_id)} if customer_id else {}
    out = []
    for pid in dict.fromkeys(product_ids):
        product = snap.catalog.get(pid)
        if product is None:
            continue
        mine = own.get(pid)
        if mine is not None and mine.interval_days is not None:
            interval, basis, rebuyers, buyers = mine.interval_days, "you", 0, 0
        else:
            rebuy = model.rebuy(pid)
            if rebuy is None:
                continue
            interval, basis = rebuy.interval_days, "store"
            rebuyers, buyers = rebuy.rebuyers, rebuy.buyers
        due = placed + timedelta(days=round(interval))
        note = DueAgain(pid, product.display_title, interval, due, basis, rebuyers, buyers)
        out.append(note)
    return sorted(out, key=lambda n: (n.due, n.product_id))
