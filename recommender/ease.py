"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): a bare model.

An item-item weight matrix B learned in closed form: B = I - P diag(1 / diag(P)), with
P = (X'X + l2 I)^-1 over the binary users x items matrix X, so each item is predicted from the
others and never from itself. A user's scores are their row of X times B. It is the strongest
simple baseline on "new products only" on these shops (docs/evaluation.md), measured beside the
served rail; the dense items x items inverse limits it to catalogs of MAX_ITEMS products, and
the blend's EASE features (computed in training) to BLEND_MAX_ITEMS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from recommender.base import Progress, Recommender, SideInfo, top_n

MAX_ITEMS = 20_000  # a dense float32 items x items matrix of 1.6 GB: beyond it, not EASE
# Training computes EASE twice (the validation split, then the version): only up to this many
# products (0.4 GB, well under a minute on two cores), for the blend's EASE features.
BLEND_MAX_ITEMS = 10_000
# Up to this many products a version keeps every weight of B, negative ones too (n x (n - 1)
# ids and scores, 8 MB at 1,000): the blend's and the served "ease" candidate's EASE is then
# exactly the bare model's. Above it only each item's k largest positive weights are kept.
FULL_ROWS = 1_000
# The ridge penalties `storefront train` tries for the version's EASE (fit.py): the default,
# half and twice it, no figure taken from any store (each costs a dense inverse, a few seconds
# at 4,000 products). The one that ranks the store's validation customers' next new products
# best is kept.
DEFAULT_L2 = 250.0
L2_GRID = (DEFAULT_L2 / 2, DEFAULT_L2, DEFAULT_L2 * 2)


class TooLarge(ValueError):
    """The catalog is too large for a dense closed form."""


def ease_weights(user_items: sp.csr_matrix, l2: float) -> np.ndarray:
    """B (items x items, float32, zero diagonal) over the binary matrix; TooLarge above
    MAX_ITEMS products."""
    n = user_items.shape[1]
    if n > MAX_ITEMS:
        raise TooLarge(f"EASE needs a dense {n:,}^2 matrix (at most {MAX_ITEMS:,})")
    x = (sp.csr_matrix(user_items) > 0).astype(np.float32)
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32, copy=False)


def ease_neighbours(
    user_items: sp.csr_matrix, k: int, l2: float = DEFAULT_L2, max_items: int = BLEND_MAX_ITEMS
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's k largest positive weights in B as fixed-width (ids, scores) arrays, padded
    with id 0 and score 0, like knn.neighbour_arrays: a shopper's EASE score of j is then the
    sum over what they bought of its weight towards j (blend.neighbour_scores), memory-mapped
    in a version and cheap per request. Up to FULL_ROWS products every weight, negative ones
    too (_full_rows). TooLarge above max_items products."""
    if user_items.shape[1] > max_items:
        raise TooLarge(f"EASE for the blend: at most {max_items:,} products")
    b = ease_weights(user_items, l2)
    n = b.shape[0]
    if 1 < n <= FULL_ROWS:
        return _full_rows(b)
    k = max(min(k, n - 1), 1)
    ids = np.argpartition(-b, k - 1, axis=1)[:, :k].astype(np.int32)
    scores = np.take_along_axis(b, ids, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    ids, scores = np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)
    keep = scores > 0
    return np.where(keep, ids, 0).astype(np.int32), np.where(keep, scores, 0).astype(np.float32)


def _full_rows(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every off-diagonal weight of B, signed, each row best first: a negative weight (bought
    with i, j is less likely) counts as it does in the bare model."""
    n = b.shape[0]
    base = np.tile(np.arange(n - 1), (n, 1))
    ids = base + (base >= np.arange(n)[:, None])  # each row: every item but itself
    scores = np.take_along_axis(b, ids, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    ids, scores = np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)
    return ids.astype(np.int32), scores.astype(np.float32)


@dataclass(frozen=True)
class EASEParams:
    """l2: the ridge penalty on B, in co-purchase counts (the diagonal of X'X is how many
    customers bought each item)."""

    l2: float = DEFAULT_L2

    def as_dict(self) -> dict:
        return asdict(self)


class EASERecommender(Recommender):
    name = "ease"

    def __init__(self, params: EASEParams | None = None):
        super().__init__()
        self.params = params or EASEParams()

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        progress(f"EASE: closed form over {self.n_items:,} items, l2 {self.params.l2}")
        self.weights = ease_weights(user_items, self.params.l2)
        self.user_items = sp.csr_matrix(user_items > 0, dtype=np.float32)

    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_items[userids] @ self.weights)

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        return np.asarray(sp.csr_matrix(user_items > 0, dtype=np.float32) @ self.weights)

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemids = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
        rows = self.weights[itemids].copy()
        rows[np.arange(len(itemids)), itemids] = -np.inf
        return top_n(rows, n)
