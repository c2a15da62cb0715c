"""Price bands fitted to each store's own prices: "budget", "mid", "premium", "luxury".

A band is a place in the store's price range, not an amount: a grocery's "premium" is a few
euros, a furniture shop's a few hundred. The edges are quantiles of the store's product prices
(the cheaper half is budget, the next 35% mid, the next 12% premium, the dearest 3% luxury),
fitted at training (stored in the model's meta.json, with the segments that describe customers
by band) and when the shop loads its catalog (traits, rule conditions and boosts by band).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

NAMES = ("budget", "mid", "premium", "luxury")
SHARES = (0.5, 0.85, 0.97)  # cumulative share of products below each edge


@dataclass(frozen=True)
class PriceBands:
    """Upper edges of budget, mid and premium (luxury is open above), in the store's currency."""

    edges: tuple[float, ...] = ()  # none: every price is "mid" (a store with no prices yet)

    @classmethod
    def fit(cls, prices: Iterable[float]) -> PriceBands:
        """Edges at the SHARES quantiles of the positive prices (one price per product)."""
        p = np.asarray([float(x) for x in prices], dtype=np.float64)
        p = p[np.isfinite(p) & (p > 0)]
        if not len(p):
            return cls()
        return cls(tuple(round(float(q), 4) for q in np.quantile(p, SHARES)))

    def band(self, price: float) -> str:
        """The band of a price: the first band whose upper edge is above it."""
        if not self.edges:
            return "mid"
        return NAMES[bisect_right(self.edges, float(price))]  # per product on pages: no numpy

    def ranges(self) -> list[tuple[str, float | None, float | None]]:
        """(band, from, up to) for each band; None: open (the studio labels them)."""
        if not self.edges:
            return [(name, None, None) for name in NAMES]
        ends = [None, *self.edges, None]
        return [(name, ends[k], ends[k + 1]) for k, name in enumerate(NAMES)]

    def as_dict(self) -> dict:
        return {"names": list(NAMES), "edges": list(self.edges)}

    @classmethod
    def from_dict(cls, d: dict | None) -> PriceBands:
        return cls(tuple(float(x) for x in (d or {}).get("edges", ())))
