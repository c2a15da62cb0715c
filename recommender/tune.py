"""`storefront tune`: random search over the shop's parameters within a time budget.

It chooses on a validation split inside the training window (split.validation_date), never on
the test period, so `storefront evaluate` afterwards still measures data nothing was tuned on.
The objective is NDCG@10 of the served blend for returning customers (new customers get
popularity whatever these parameters are). Each ALS fit is scored with the blend weights learned
for it (blend.fit_weights: a logistic regression of what validation customers bought on the
blend's features) and several hand weightings, which cost only numpy; the shop's current
parameters are always the first trial, so the best found is never worse than them on validation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import top_n
from recommender.blend import (
    FEATURES,
    NEW_FEATURES,
    BlendParams,
    Shopper,
    blend,
    features,
    fit_weights,
    learned,
    log_scale,
    own_scores,
)
from recommender.knn import KNNParams, fit_similarity, neighbour_arrays
from recommender.lineup import ShopParams
from recommender.metrics import ndcg_at_k
from recommender.models import ALSParams, fit_als
from recommender.popularity import item_counts
from recommender.repurchase import repeat_shares
from recommender.split import Split, default_split_date, make_split, validation_date

BLENDS_PER_FIT = 8
CANDIDATES = 150  # besides their own products, each customer's top products the fit learns on


def _sample_als(rng: random.Random) -> ALSParams:
    return ALSParams(
        factors=rng.choice([32, 48, 64, 96, 128]),
        regularization=round(10 ** rng.uniform(-2.5, 0), 4),
        alpha=rng.choice([0.5, 1.0, 2.0, 4.0, 8.0, 16.0]),
        iterations=rng.choice([10, 15, 20]),
    )


def _sample_blend(rng: random.Random) -> BlendParams:
    """A hand blend (no learned weights), still tried against the learned one."""
    return BlendParams(
        als=round(rng.uniform(0.0, 2.0), 2),
        knn=round(rng.uniform(0.0, 2.0), 2),
        own=round(rng.uniform(0.0, 5.0), 2),
        own_half_life_days=rng.choice([30.0, 90.0, 180.0, 365.0]),
        weights={},
        new_weights={},
    )


class _Validation:
    """The returning customers of a split, with everything but ALS precomputed."""

    def __init__(self, split: Split):
        g = split.groups["returning"]
        self.split = split
        self.rows = g.userids
        self.truths = g.truths
        m = split.data.matrix[self.rows]
        self.conf = m.toarray()
        self.age = split.side.last_days[self.rows].toarray()
        self.history = m
        self._knn: dict[int, np.ndarray] = {}
        data = split.data
        matrix = data.matrix[self.rows]

        def dense(values) -> np.ndarray:
            out = data.matrix.copy()
            out.data = np.asarray(values, dtype=np.float32)
            return out[self.rows].toarray()

        orders, span = dense(data.orders), dense(data.span_days)
        repeat, customer_orders, _ = repeat_shares(split.train_lines, data.user_ids)
        lapse = np.where(orders >= 1, self.age, np.inf).min(axis=1)
        self.shopper = Shopper(
            orders,
            self.age,
            span,
            customer_orders[self.rows][:, None],
            repeat[self.rows][:, None],
            np.where(np.isfinite(lapse), lapse, 0.0)[:, None],
        )
        buyers, trending = item_counts(split.train_lines, data.item_ids, split.date)
        self.popularity, self.trending = log_scale(buyers), log_scale(trending)
        self.labels = np.zeros(matrix.shape, dtype=bool)
        for k, truth in enumerate(self.truths):
            self.labels[k, [i for i in truth if i < matrix.shape[1]]] = True

    def knn(self, params: KNNParams) -> np.ndarray:
        if params.neighbours not in self._knn:
            sim = fit_similarity(self.split.data.matrix, params)
            ids, scores = neighbour_arrays(sim, params.neighbours)
            n = ids.shape[0]
            k = ids.shape[1]
            table = sp.csr_matrix(
                (scores.ravel(), ids.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
            )
            self._knn[params.neighbours] = (self.history @ table).toarray()
        return self._knn[params.neighbours]

    def ndcg(self, scores: np.ndarray) -> float:
        ids, _ = top_n(scores.astype(np.float32), 10)
        return float(np.mean([ndcg_at_k(r, t) for r, t in zip(ids, self.truths, strict=True)]))

    def own(self, p: BlendParams) -> np.ndarray:
        return np.where(self.conf > 0, own_scores(self.conf, self.age, p.own_half_life_days), 0)

    def features(self, als: np.ndarray, knn: np.ndarray) -> dict[str, np.ndarray]:
        return features(als, knn, self.shopper, self.popularity, self.trending)

    def learn(self, feats: dict[str, np.ndarray], base: BlendParams) -> BlendParams:
        """The blend's weights on this split: a logistic regression over each customer's own
        products and their top CANDIDATES by ALS and neighbours (the rest never reach a rail);
        the new-products-only weights from the same fit over the products not owned."""
        owned = self.shopper.orders >= 1
        pool = owned.copy()
        top, _ = top_n((feats["als"] + 0.5 * feats["knn_new"]).astype(np.float32), CANDIDATES)
        pool[np.arange(len(pool))[:, None], top] = True

        def fit(mask: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
            x = np.stack([np.asarray(feats[name])[mask] for name in names], axis=1)
            return fit_weights(x, self.labels[mask], names)

        return replace(
            base, weights=fit(pool, FEATURES), new_weights=fit(pool & ~owned, NEW_FEATURES)
        )

    def score(self, als, knn, b: BlendParams) -> float:
        if b.weights:
            return self.ndcg(learned(self.features(als, knn), b.weights))
        return self.ndcg(blend(als, knn, self.own(b), b))


def tune(
    lines: pd.DataFrame,
    products: pd.DataFrame,
    budget_seconds: float,
    split_date: str | pd.Timestamp | None = None,
    start: ShopParams | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Search until the budget is spent; returns every trial and the best parameters."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(seed)
    start = start or ShopParams()
    lines = lines.copy()
    lines["ts"] = pd.to_datetime(lines["ts"])
    test_split = pd.Timestamp(split_date) if split_date else default_split_date(lines["ts"])
    before = lines[lines["ts"] < test_split]
    val_date = validation_date(before["ts"], test_split, lines["ts"].max())
    split = make_split(before, products, val_date)
    val = _Validation(split)
    say(
        f"validation split {val_date:%Y-%m-%d} inside the training window (test split "
        f"{test_split:%Y-%m-%d} stays unseen): {len(val.rows):,} returning customers"
    )
    trials: list[dict] = []
    best: tuple[float, ShopParams] | None = None
    fit_cost = 0.0
    first = True
    while first or time.perf_counter() - started + fit_cost < budget_seconds:
        t0 = time.perf_counter()
        als_params = start.als if first else _sample_als(rng)
        knn_params = (
            start.knn if first else replace(start.knn, neighbours=rng.choice([50, 100, 200]))
        )
        factors = fit_als(split.data.matrix, als_params)
        als = factors.user_factors[val.rows] @ factors.item_factors.T
        knn = val.knn(knn_params)
        als_ndcg = val.ndcg(als)
        blends = [start.blend] if first else []
        blends.append(val.learn(val.features(als, knn), start.blend))
        blends += [_sample_blend(rng) for _ in range(BLENDS_PER_FIT - len(blends))]
        for b in blends:
            score = val.score(als, knn, b)
            shop = ShopParams(als_params, knn_params, b, start.trending_days)
            trials.append({"params": shop.as_dict(), "als_ndcg@10": als_ndcg, "ndcg@10": score})
            if best is None or score > best[0]:
                best = (score, shop)
        fit_cost = time.perf_counter() - t0
        say(
            f"trial {len(trials) // BLENDS_PER_FIT}: ALS {als_params.factors}f "
            f"reg {als_params.regularization} alpha {als_params.alpha} "
            f"it {als_params.iterations}: ALS {als_ndcg:.4f}, best blend so far {best[0]:.4f}"
        )
        first = False
    assert best is not None
    trials.sort(key=lambda t: -t["ndcg@10"])
    return {
        "validation_split": f"{val_date:%Y-%m-%d}",
        "test_split": f"{test_split:%Y-%m-%d}",
        "validation_customers": int(len(val.rows)),
        "trials": len(trials),
        "start_ndcg@10": next(t["ndcg@10"] for t in trials if t["params"] == start.as_dict()),
        "best_ndcg@10": best[0],
        "best": best[1].as_dict(),
        "top": trials[:5],
        "seconds": round(time.perf_counter() - started, 2),
    }
