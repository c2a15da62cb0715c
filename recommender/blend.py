"""The "for you" score the shop serves: ALS taste + item neighbours + the shopper's own orders.

On this kind of shop (wholesale gift buyers who re-order), what a customer bought before and
what is bought together with it predict the next order better than factors alone; the blend
keeps ALS for breadth and for session fold-in. Pure numpy: serving (one user, 1-D arrays) and
tuning (a batch, 2-D arrays) call the very same functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BlendParams:
    """Weights of each part after scaling it to a maximum of 1 per shopper."""

    als: float = 1.0
    knn: float = 0.5
    own: float = 3.0
    own_half_life_days: float = 180.0  # an order this old counts half as much as today's

    def as_dict(self) -> dict:
        return asdict(self)


def unit(scores: np.ndarray) -> np.ndarray:
    """Scale each row (or the vector) so its largest absolute score is 1; zeros stay zeros."""
    scores = np.asarray(scores, dtype=np.float32)
    top = np.abs(scores).max(axis=-1, keepdims=True) if scores.size else np.float32(0)
    top = np.where(top > 0, top, 1.0)
    return scores / top


def own_scores(conf: np.ndarray, age_days: np.ndarray | None, half_life: float) -> np.ndarray:
    """How likely a shopper is to re-order what they bought: confidence, decayed by age."""
    conf = np.asarray(conf, dtype=np.float32)
    if age_days is None or half_life <= 0:
        return conf
    return conf * np.power(0.5, np.asarray(age_days, dtype=np.float32) / half_life)


def neighbour_scores(
    items: np.ndarray, weights: np.ndarray, knn_ids: np.ndarray, knn_scores: np.ndarray, n: int
) -> np.ndarray:
    """Sum over a shopper's items of their neighbours' similarities, weighted per item."""
    items = np.asarray(items, dtype=np.int64)
    if items.size == 0:
        return np.zeros(n, dtype=np.float32)
    ids = np.asarray(knn_ids[items]).ravel()
    contrib = np.asarray(knn_scores[items]) * np.asarray(weights, dtype=np.float32)[:, None]
    return np.bincount(ids, weights=contrib.ravel(), minlength=n).astype(np.float32)


def blend(als: np.ndarray, knn: np.ndarray, own: np.ndarray, p: BlendParams) -> np.ndarray:
    return p.als * unit(als) + p.knn * unit(knn) + p.own * unit(own)
