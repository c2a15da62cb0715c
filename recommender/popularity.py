"""Popularity lists: overall, recent, by country (trending near you) and by month (in season).

They are the baseline, the fallback for visitors the model does not know, and two of the home
page's rails. Every list is computed from order lines up to a cut-off time, so an evaluation that
splits by date cannot leak the future into them. PopularityRecommender puts the same three
baselines (overall, by country, recent) behind the one model interface (base.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import Progress, Recommender, SideInfo, item_popularity, top_n

TOP = 200  # entries kept per list: enough to fill rails after filtering what a visitor owns
COUNTRY_HALF_LIFE_DAYS = 14.0  # by_country's decay: a country's sale this old counts half


def _top(scores: pd.Series, n: int = TOP) -> list[list]:
    scores = scores[scores > 0].sort_values(ascending=False).head(n)
    return [[str(pid), round(float(s), 4)] for pid, s in scores.items()]


def _buyers(lines: pd.DataFrame) -> pd.Series:
    """Distinct buyers per product; a guest order counts as one buyer (its invoice)."""
    who = lines["customer_id"].astype("string").fillna("guest:" + lines["invoice"].astype(str))
    return who.groupby(lines["product_id"], observed=True).nunique()


def overall(lines: pd.DataFrame) -> list[list]:
    return _top(_buyers(lines).astype(float))


def recent(
    lines: pd.DataFrame, end: pd.Timestamp, days: int, customers_only: bool = False
) -> list[list]:
    """Distinct buyers of the last `days`; customers_only leaves guest orders out (a shop whose
    guests buy unlike its customers: fit.py chooses between the two for first visits)."""
    window = lines[lines["ts"] > end - pd.Timedelta(days=days)]
    if customers_only:
        window = window[window["customer_id"].notna()]
    return _top(_buyers(window).astype(float))


def by_country(lines: pd.DataFrame, end: pd.Timestamp, half_life_days: float) -> dict:
    """Recency-weighted buyers per product per country: what is trending there now.

    An exponential decay instead of a hard window keeps small countries (a handful of orders a
    month) from having an empty list while still favouring what sells lately.
    """
    age_days = (end - lines["ts"]).dt.total_seconds().to_numpy() / 86400.0
    weight = np.power(0.5, np.clip(age_days, 0, None) / half_life_days)
    frame = pd.DataFrame(
        {
            "country": lines["country"],
            "product_id": lines["product_id"],
            "invoice": lines["invoice"],
            "w": weight,
        }
    ).dropna(subset=["country"])
    # one vote per order, weighted by its age
    per_order = frame.groupby(["country", "invoice", "product_id"], observed=True)["w"].max()
    scores = per_order.groupby(level=["country", "product_id"], observed=True).sum()
    out: dict[str, list[list]] = {}
    for country, group in scores.groupby(level="country", observed=True):
        out[str(country)] = _top(group.droplevel("country"))
    return out


def by_month(lines: pd.DataFrame) -> dict:
    """Products whose sales concentrate in each calendar month ("in season now").

    Score = share of the product's orders in that month (smoothed) x log of the month's volume:
    Christmas decorations rise in November, not the year-round best sellers.
    """
    per = lines.groupby([lines["ts"].dt.month, "product_id"], observed=True)["invoice"].nunique()
    per.index.names = ["month", "product_id"]
    total = per.groupby(level="product_id").sum()
    out: dict[str, list[list]] = {}
    for month, group in per.groupby(level="month"):
        g = group.droplevel("month")
        share = (g + 1.0) / (total.reindex(g.index) + 12.0)
        score = share * 12.0 * np.log1p(g)
        out[str(int(month))] = _top(score[g >= 3])
    return out


class PopularityRecommender(Recommender):
    """The baseline and the fallback: the same list for everyone (of a country, or lately).

    kind "overall": distinct buyers per item; "recent": distinct buyers whose latest order of
    the item falls in the last `days` of the training window; "country": distinct buyers in the
    shopper's country (from the "country:XX" user feature), overall where the country is unknown
    or has no buyers. Ties are broken by overall popularity.
    """

    KINDS = ("overall", "recent", "country")

    def __init__(self, kind: str = "overall", days: int = 30):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"popularity kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        self.days = days
        self.name = "popularity" if kind == "overall" else f"popularity_{kind}"

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        tie = self.fallback * 1e-3
        self.base = self.fallback.copy()
        self.group_scores = np.zeros((0, self.n_items), dtype=np.float32)
        self.group_columns = np.zeros(0, dtype=np.int64)
        self.user_group = np.full(self.n_users, -1, dtype=np.int64)
        if self.kind == "recent":
            if side.last_days is None:
                raise ValueError("recent popularity needs side.last_days")
            recent = side.last_days.copy()
            recent.data = (recent.data <= self.days).astype(np.float32)
            recent.eliminate_zeros()
            self.base = item_popularity(sp.csr_matrix(recent)) + tie
        elif self.kind == "country":
            names = side.user_feature_names
            self.group_columns = np.array(
                [i for i, n in enumerate(names) if n.startswith("country:")], dtype=np.int64
            )
            if side.user_features is None or not len(self.group_columns):
                raise ValueError("country popularity needs country user features")
            membership = sp.csr_matrix(
                side.user_features[:, self.group_columns] > 0, dtype=np.float32
            )
            counts = np.asarray((membership.T @ (user_items > 0)).todense(), dtype=np.float32)
            top = counts.max(axis=1, keepdims=True)
            top[top == 0] = 1.0
            self.group_scores = counts / top + tie
            self.user_group = self._groups(side.user_features, self.n_users)
        self.fallback = self.base

    def _groups(self, user_features: sp.csr_matrix | None, n: int) -> np.ndarray:
        """Each user's country group (the first country feature), -1 where none is known."""
        if user_features is None or not len(self.group_columns):
            return np.full(n, -1, dtype=np.int64)
        sub = sp.csr_matrix(user_features[:, self.group_columns])
        out = np.full(sub.shape[0], -1, dtype=np.int64)
        has = np.diff(sub.indptr) > 0
        out[has] = sub.indices[sub.indptr[:-1][has]]
        return out

    def _rows_for(self, groups: np.ndarray) -> np.ndarray:
        out = np.tile(self.base, (len(groups), 1))
        known = groups >= 0
        if known.any():
            out[known] = self.group_scores[groups[known]]
        return out

    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        return self._rows_for(self.user_group[userids])

    def _has_signal(self, user_items, user_features) -> np.ndarray:
        return np.ones(user_items.shape[0], dtype=bool)  # popularity needs nothing to answer

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        return self._rows_for(self._groups(user_features, user_items.shape[0]))

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemids = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
        rows = np.tile(self.base, (len(itemids), 1))
        rows[np.arange(len(itemids)), itemids] = -np.inf
        return top_n(rows, n)


def item_counts(
    lines: pd.DataFrame, item_ids: np.ndarray, end: pd.Timestamp, days: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct buyers per item over all the lines and over their last `days` days, in item_ids
    order: the blend's popularity and trending features (blend.log_scale)."""
    ts = pd.to_datetime(lines["ts"])
    ids = pd.Index(np.asarray(item_ids, dtype=str))
    every = _buyers(lines)
    every.index = every.index.astype(str)
    lately = _buyers(lines[ts > pd.Timestamp(end) - pd.Timedelta(days=days)])
    lately.index = lately.index.astype(str)
    return (
        every.reindex(ids).fillna(0).to_numpy(dtype=np.float32),
        lately.reindex(ids).fillna(0).to_numpy(dtype=np.float32),
    )
