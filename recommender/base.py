"""The evaluated models' base class, keeping the one model interface (interface.py: shaped like
implicit's `RecommenderBase`, batch first, users x items, checked by check_user_items).
 `recommend(userids, user_items, n)` takes the rows of
`user_items` that belong to `userids` (one row per requested user, as in implicit >= 0.5) and
returns `(ids, scores)`, both `len(userids) x n`, best first; a slot with nothing left to
recommend holds id -1 and score -inf.

A user the model was not trained on (userid < 0 or beyond the trained users), or any user when
`recalculate_user=True`, is folded in from their row of `user_items` (and their row of
`user_features` for models that use features). A user with nothing to go on at all gets the
model's fallback: item popularity in its training data. Every model therefore answers every
request, and an evaluation of "new customers" compares what each one really does for them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.interface import as_csr, check_user_items, empty_answer

__all__ = ["Progress", "Recommender", "SideInfo", "as_csr", "cosine_similar", "top_n"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SideInfo:
    """What a model may know besides the interactions, all from the training window only.

    user_features: users x user-features (country, device), rows aligned with user_items.
    item_features: items x item-features (category, price band, description words).
    last_days: users x items, same pattern as user_items: days from the user's latest order of
        the item to the end of the training window (recency for popularity windows).
    """

    user_features: sp.csr_matrix | None = None
    item_features: sp.csr_matrix | None = None
    user_feature_names: tuple[str, ...] = ()
    item_feature_names: tuple[str, ...] = ()
    last_days: sp.csr_matrix | None = None


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise best n of a dense score matrix; -inf entries never count as recommendations."""
    rows, cols = scores.shape
    k = min(n, cols)
    ids, out = empty_answer(rows, n)
    if k <= 0 or rows == 0:
        return ids, out
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best_scores = np.take_along_axis(part_scores, order, axis=1)
    finite = np.isfinite(best_scores)
    ids[:, :k] = np.where(finite, best, -1)
    out[:, :k] = np.where(finite, best_scores, -np.inf)
    return ids, out


def item_popularity(user_items: sp.csr_matrix) -> np.ndarray:
    """Distinct users per item, scaled to (0, 1]: the fallback for users with nothing known."""
    counts = np.bincount(user_items.indices, minlength=user_items.shape[1]).astype(np.float32)
    top = counts.max() if counts.size else 0.0
    return counts / top if top > 0 else counts


def cosine_similar(vectors: np.ndarray, itemids, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n items most cosine-similar to each of itemids (never the item itself)."""
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    unit = vectors / norms[:, None]
    itemids = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
    sims = unit[itemids] @ unit.T
    sims[np.arange(len(itemids)), itemids] = -np.inf
    return top_n(sims.astype(np.float32), n)


class Recommender(ABC):
    """What every evaluated model shares, keeping interface.Recommends (the contract suite:
    tests/unit/test_recommender_models.py, which runs the served version too)."""

    name = "base"

    def __init__(self) -> None:
        self.n_users = 0
        self.n_items = 0
        self.fallback = np.zeros(0, dtype=np.float32)

    # --- to implement ------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None: ...

    @abstractmethod
    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        """Scores (len(userids) x items) for trained users."""

    @abstractmethod
    def _fold_in_scores(
        self, user_items: sp.csr_matrix, user_features: sp.csr_matrix | None
    ) -> np.ndarray:
        """Scores for users described only by their rows (and features)."""

    @abstractmethod
    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores), len(itemids) x n: the items most like each one, never itself."""

    def _has_signal(
        self, user_items: sp.csr_matrix, user_features: sp.csr_matrix | None
    ) -> np.ndarray:
        """Which folded-in users the model can say anything about (others get the fallback)."""
        return np.diff(user_items.indptr) > 0

    # --- the shared contract -----------------------------------------------------------------
    def fit(
        self,
        user_items: sp.csr_matrix,
        side: SideInfo | None = None,
        progress: Progress | None = None,
    ) -> Recommender:
        """Learn from a users x items confidence matrix (and side information, if used)."""
        user_items = as_csr(user_items)
        self.n_users, self.n_items = user_items.shape
        self.fallback = item_popularity(user_items)
        self._fit(user_items, side or SideInfo(), progress or (lambda _msg: None))
        return self

    def scores(
        self,
        userids,
        user_items: sp.csr_matrix,
        recalculate_user: bool = False,
        user_features: sp.csr_matrix | None = None,
    ) -> np.ndarray:
        """Dense scores, len(userids) x items, higher is better."""
        userids, user_items = check_user_items(userids, user_items, self.n_items)
        out = np.zeros((len(userids), self.n_items), dtype=np.float32)
        known = (userids >= 0) & (userids < self.n_users)
        if recalculate_user:
            known[:] = False
        if known.any():
            out[known] = self._known_scores(userids[known])
        new = ~known
        if new.any():
            rows = np.flatnonzero(new)
            feats = user_features[rows] if user_features is not None else None
            sub = user_items[rows]
            signal = self._has_signal(sub, feats)
            if signal.any():
                part = self._fold_in_scores(
                    sub[signal], feats[signal] if feats is not None else None
                )
                out[rows[signal]] = part
            if (~signal).any():
                out[rows[~signal]] = self.fallback
        return out

    def recommend(
        self,
        userids,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked_items: bool = True,
        filter_items=None,
        recalculate_user: bool = False,
        user_features: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top n items per user: (ids, scores), each len(userids) x n, best first."""
        user_items = as_csr(user_items)
        s = self.scores(userids, user_items, recalculate_user, user_features)
        if filter_already_liked_items:
            rows = np.repeat(np.arange(user_items.shape[0]), np.diff(user_items.indptr))
            s[rows, user_items.indices] = -np.inf
        if filter_items is not None and len(filter_items):
            s[:, np.asarray(filter_items, dtype=np.int64)] = -np.inf
        return top_n(s, n)

    def fold_in(
        self, user_items: sp.csr_matrix, user_features: sp.csr_matrix | None = None
    ) -> np.ndarray:
        """Scores for visitors the model never saw, from this session's rows alone."""
        user_items = as_csr(user_items)
        return self.scores(
            np.full(user_items.shape[0], -1), user_items, True, user_features=user_features
        )
