"""The one model interface (interface.Recommends) for a served version: batch first, users x
items, answered with what the shop serves.

serving.Model inherits this, so evaluation can ask a published version exactly what it asks
every evaluated model, and the contract suite (tests/unit/test_model_interface.py) checks them
all alike. A row's user id is the version's own user index (Model.user_ids); its columns are
the version's items (Model.item_ids). A known user gets the "for you" rail from their trained
history (recommend_for); a user id the version was not trained on, or any user with
`recalculate_user`, is folded in from their row, each product in it counted as one order
(signals.py: a purchase). Nothing to go on at all: the all-time best sellers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.interface import check_user_items, empty_answer


class BatchRecommend:
    """Mixed into serving.Model: the batch interface over its per-shopper methods
    (recommend_for, item_index, popular)."""

    item_ids: np.ndarray
    user_ids: np.ndarray
    neighbour_ids: np.ndarray
    neighbour_scores: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def recommend(
        self,
        userids,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked_items: bool = True,
        filter_items=None,
        recalculate_user: bool = False,
        user_features: sp.csr_matrix | None = None,  # noqa: ARG002 (context is not a feature here)
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top n items per user as the shop serves them: (ids, scores), len(userids) x n.
        (A taste vector's plain ALS top is `recommend_vector`.)"""
        userids, user_items = check_user_items(userids, user_items, self.n_items)
        ids, scores = empty_answer(len(userids), n)
        filtered = np.asarray([] if filter_items is None else filter_items, dtype=np.int64)
        never = {str(self.item_ids[i]) for i in filtered}
        for row, u in enumerate(userids.tolist()):
            cols = user_items.indices[user_items.indptr[row] : user_items.indptr[row + 1]]
            products = [str(self.item_ids[i]) for i in cols]
            known = 0 <= u < self.n_users and not recalculate_user
            exclude = never | (set(products) if filter_already_liked_items else set())
            answer = (
                self.recommend_for(
                    str(self.user_ids[u]) if known else None,
                    () if known else [(p, "purchase") for p in products],
                    n,
                    exclude,
                    new_only=filter_already_liked_items and known,
                )
                or [(p, s) for p, s in self.popular("overall") if p not in exclude][:n]
            )
            for k, (pid, score) in enumerate(answer[:n]):
                i = self.item_index(pid)
                if i is not None:
                    ids[row, k], scores[row, k] = i, score
        return ids, scores

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The n items most like each of itemids (the version's cosine neighbours, never the
        item itself): (ids, scores), len(itemids) x n."""
        itemids = np.atleast_1d(np.asarray(itemids, dtype=np.int64))
        ids, scores = empty_answer(len(itemids), n)
        for row, item in enumerate(itemids.tolist()):
            near = zip(self.neighbour_ids[item], self.neighbour_scores[item], strict=True)
            kept = [(int(j), float(s)) for j, s in near if s > 0 and j != item][:n]
            for k, (j, s) in enumerate(kept):
                ids[row, k], scores[row, k] = j, s
        return ids, scores
