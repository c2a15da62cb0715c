"""The hybrid model: LightFM with item features (category, price band, description words) and
user features (country, device), for products and visitors with little or no history.

Known users and items also keep an identity feature, so the model is never worse than pure
collaborative filtering where there is history, and falls back to features where there is none.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from recommender.base import Progress, Recommender, SideInfo, cosine_similar
from recommender.models import mean_item_vectors


@dataclass(frozen=True)
class LightFMParams:
    no_components: int = 48
    loss: str = "warp"
    learning_rate: float = 0.1
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    epochs: int = 8
    user_feature_weight: float = 0.3
    item_feature_weight: float = 1.0
    random_state: int = 42

    def as_dict(self) -> dict:
        return asdict(self)


def feature_rows(
    features: sp.csr_matrix | None, n: int, identity: bool, weight: float
) -> sp.csr_matrix:
    """[identity | features]: identity 1 (0 for someone new), the features sharing `weight`.

    Training rows and new shoppers' rows come from this one function, so a feature weighs the
    same in both. A small weight keeps a country shared by thousands from drowning each
    customer's own taste; it still gives a stranger a starting point.
    """
    eye = sp.identity(n, dtype=np.float32, format="csr") if identity else sp.csr_matrix((n, n))
    if features is None:
        return sp.csr_matrix(eye, dtype=np.float32)
    feats = sp.csr_matrix(features, dtype=np.float32)
    sums = np.asarray(feats.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    feats = sp.csr_matrix(sp.diags(weight / sums) @ feats)
    return sp.csr_matrix(sp.hstack([eye, feats], format="csr"), dtype=np.float32)


class LightFMRecommender(Recommender):
    """LightFM (WARP) over identity + side features."""

    name = "lightfm"

    def __init__(self, params: LightFMParams | None = None, threads: int | None = None):
        super().__init__()
        self.params = params or LightFMParams()
        self.threads = threads or min(os.cpu_count() or 1, 4)

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        from lightfm import LightFM

        p = self.params
        self.user_feature_names = side.user_feature_names
        self.item_feature_names = side.item_feature_names
        self._user_side = side.user_features
        users = feature_rows(side.user_features, self.n_users, True, p.user_feature_weight)
        items = feature_rows(side.item_features, self.n_items, True, p.item_feature_weight)
        model = LightFM(
            no_components=p.no_components,
            loss=p.loss,
            learning_rate=p.learning_rate,
            item_alpha=p.item_alpha,
            user_alpha=p.user_alpha,
            random_state=p.random_state,
        )
        interactions = sp.coo_matrix((user_items > 0).astype(np.float32))
        for epoch in range(p.epochs):
            model.fit_partial(
                interactions,
                user_features=users,
                item_features=items,
                epochs=1,
                num_threads=self.threads,
            )
            progress(f"LightFM epoch {epoch + 1}/{p.epochs}")
        self.model = model
        self.item_bias, self.item_repr = model.get_item_representations(items)
        _, self.user_repr = model.get_user_representations(users)
        self.item_repr = self.item_repr.astype(np.float32)
        self.user_repr = self.user_repr.astype(np.float32)
        self.item_bias = self.item_bias.astype(np.float32)

    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        return self.user_repr[userids] @ self.item_repr.T + self.item_bias

    def _has_signal(self, user_items, user_features) -> np.ndarray:
        has = np.diff(user_items.indptr) > 0
        if user_features is not None:
            has |= np.diff(sp.csr_matrix(user_features).indptr) > 0
        return has

    def feature_vectors(self, user_features: sp.csr_matrix | None, n: int) -> np.ndarray:
        """The taste LightFM gives a shopper from their features alone (no identity)."""
        if user_features is None or not self.user_feature_names:
            return np.zeros((n, self.item_repr.shape[1]), dtype=np.float32)
        rows = feature_rows(user_features, n, False, self.params.user_feature_weight)
        emb = self.model.user_embeddings[self.n_users :]
        return np.asarray(rows[:, n:] @ emb, dtype=np.float32)

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        """Features give a starting taste; a session's items add the confidence-weighted mean
        of their representations (a stranger who bought candles looks like a candle)."""
        vectors = self.feature_vectors(user_features, user_items.shape[0])
        vectors = vectors + mean_item_vectors(user_items, self.item_repr)
        return vectors @ self.item_repr.T + self.item_bias

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        return cosine_similar(self.item_repr, itemids, n)
