"""`storefront tune`: random search over the shop's parameters within a time budget.

It chooses on a validation split inside the training window (split.validation_date), never on
the test period, so `storefront evaluate` afterwards still measures data nothing was tuned on.
The objective is NDCG@10 of the served blend for returning customers (new customers get
popularity whatever these parameters are). Each ALS fit is scored with the blend weights learned
for it (blend.fit_weights: a logistic regression of what validation customers bought on the
blend's features) and several hand weightings, which cost only numpy; the shop's current
parameters are always the first trial, so the best found is never worse than them on validation.
Training keeps the ALS, neighbour and hand-blend parameters published here; the blend's weights
it fits again on its own validation split (fit.py), so every model learns its store as it is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from recommender.blend import BlendParams, blend, learned, own_scores
from recommender.fit import Validation
from recommender.lineup import ShopParams
from recommender.models import ALSParams, fit_als
from recommender.progress import counter
from recommender.split import default_split_date, make_split, validation_date

BLENDS_PER_FIT = 8


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


def _score(val: Validation, als: np.ndarray, knn: np.ndarray, b: BlendParams) -> float:
    """Validation NDCG@10 of a blend: learned weights, or the hand blend."""
    if b.weights:
        return val.ndcg(learned(val.features(als, knn), b.weights))
    conf = val.history.toarray()
    own = np.where(conf > 0, own_scores(conf, val.age, b.own_half_life_days), 0)
    return val.ndcg(blend(als, knn, own, b))


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
    val = Validation(split)
    say(
        f"validation split {val_date:%Y-%m-%d} inside the training window (test split "
        f"{test_split:%Y-%m-%d} stays unseen): {len(val.rows):,} returning customers"
    )
    trials: list[dict] = []
    best: tuple[float, ShopParams] | None = None
    fit_cost = 0.0
    first = True
    budget = counter("tune", round(budget_seconds), "s")
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
            score = _score(val, als, knn, b)
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
        budget.update(min(time.perf_counter() - started, budget_seconds) - budget.n)
    budget.close()
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
