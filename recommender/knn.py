"""Item-to-item neighbours from co-purchases (implicit.nearest_neighbours), one interface.

A user's score for an item is the sum, over what they bought, of that item's similarity to it:
new sessions fold in for free, and "bought together" neighbours come from real baskets rather
than from factors. The neighbour lists are fixed-width arrays, so serving reads them memory-mapped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from recommender.base import Progress, Recommender, SideInfo, top_n


@dataclass(frozen=True)
class KNNParams:
    """similarity: "bm25" (weights rare co-purchases up), "cosine" or "tfidf"."""

    similarity: str = "bm25"
    neighbours: int = 100
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def as_dict(self) -> dict:
        return asdict(self)


def fit_similarity(
    user_items: sp.csr_matrix, params: KNNParams, progress: Progress | None = None
) -> sp.csr_matrix:
    """items x items similarity, each row holding its item's top neighbours (and itself)."""
    from implicit.nearest_neighbours import (
        ItemItemRecommender,
        bm25_weight,
        normalize,
        tfidf_weight,
    )

    if progress:
        progress(f"item neighbours: {params.similarity}, {params.neighbours} per item")
    # the weightings implicit's BM25/Cosine/TFIDF recommenders apply, handed over as CSR
    items_users = sp.csr_matrix(user_items).T
    if params.similarity == "bm25":
        weighted = bm25_weight(items_users, params.bm25_k1, params.bm25_b).T
    elif params.similarity == "cosine":
        weighted = normalize(items_users).T
    elif params.similarity == "tfidf":
        weighted = normalize(tfidf_weight(items_users)).T
    else:
        raise ValueError(f"unknown similarity {params.similarity!r}: bm25, cosine or tfidf")
    model = ItemItemRecommender(K=params.neighbours)
    model.fit(sp.csr_matrix(weighted), show_progress=False)
    sim = sp.csr_matrix(model.similarity, dtype=np.float32)
    sim.sort_indices()
    return sim


def neighbour_arrays(similarity: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best neighbours of every item (never itself) as dense (ids, scores) arrays.

    Rows with fewer neighbours are padded with id 0 and score 0, which adds nothing to a sum.
    """
    sim = similarity.tolil(copy=True)
    sim.setdiag(0)
    sim = sp.csr_matrix(sim)
    sim.eliminate_zeros()
    n = sim.shape[0]
    ids = np.zeros((n, k), dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    for i in range(n):
        lo, hi = sim.indptr[i], sim.indptr[i + 1]
        cols, vals = sim.indices[lo:hi], sim.data[lo:hi]
        order = np.argsort(-vals, kind="stable")[:k]
        ids[i, : len(order)] = cols[order]
        scores[i, : len(order)] = vals[order]
    return ids, scores


class ItemKNNRecommender(Recommender):
    """Item-based collaborative filtering over co-purchase similarity."""

    name = "item_knn"

    def __init__(self, params: KNNParams | None = None):
        super().__init__()
        self.params = params or KNNParams()

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        self.user_items = user_items
        self.similarity = fit_similarity(user_items, self.params, progress)

    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        return (self.user_items[userids] @ self.similarity).toarray()

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        return (user_items @ self.similarity).toarray()

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemids = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
        rows = self.similarity[itemids].toarray()
        rows[rows == 0] = -np.inf
        rows[np.arange(len(itemids)), itemids] = -np.inf
        return top_n(rows, n)
