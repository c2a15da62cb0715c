"""The ONE model interface, for evaluation and serving alike, shaped like implicit's
`RecommenderBase`: batch first, users x items.

    recommend(userids, user_items, n, filter_already_liked_items, filter_items,
              recalculate_user, user_features) -> (ids, scores)
    similar_items(itemids, n) -> (ids, scores)

`user_items` is a users x items sparse matrix with exactly one row per requested user id (as in
implicit >= 0.5) and one column per item the model knows; `check_user_items` is the one place
that orientation is checked. Both answers are `len(ids) x n` arrays, best first; a slot with
nothing left to recommend holds id -1 and score -inf. A user id the model was not trained on
(below 0 or beyond n_users), or any user with `recalculate_user`, is folded in from their row.

Implementations: every evaluated model (base.Recommender: popularity, ALS, BPR, LightFM, item-kNN,
EASE) and the served version (serving.Model, which answers with what the "for you" rail
serves). tests/unit/test_model_interface.py runs one contract suite against all of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

ORIENTATION = "users x items"


@runtime_checkable
class Recommends(Protocol):
    """What evaluation and the shop ask of any model."""

    @property
    def n_users(self) -> int: ...

    @property
    def n_items(self) -> int: ...

    def recommend(
        self,
        userids,
        user_items: sp.csr_matrix,
        n: int = 10,
        filter_already_liked_items: bool = True,
        filter_items=None,
        recalculate_user: bool = False,
        user_features: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]: ...


def as_csr(matrix, name: str = "user_items") -> sp.csr_matrix:
    """A float32 CSR matrix, or a clear error naming the argument and the orientation."""
    if not sp.issparse(matrix):
        raise TypeError(f"{name} must be a scipy sparse matrix ({ORIENTATION})")
    return sp.csr_matrix(matrix, dtype=np.float32)


def check_user_items(userids, user_items, n_items: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """userids as int64 and user_items as CSR, after checking the orientation: one row per
    user id, one column per item of the model. A transposed or misaligned matrix is refused
    with a message that says which, instead of silently recommending the wrong items."""
    userids = np.atleast_1d(np.asarray(userids, dtype=np.int64))
    user_items = as_csr(user_items)
    expected = (len(userids), n_items)
    if user_items.shape != expected:
        flipped = user_items.shape[::-1] == expected
        hint = " (transposed? it must be users x items)" if flipped else ""
        raise ValueError(
            f"user_items must have one row per user id and one column per item ({ORIENTATION}): "
            f"expected {expected}, got {user_items.shape}{hint}"
        )
    return userids, user_items


def empty_answer(rows: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) with every slot empty: id -1, score -inf."""
    return np.full((rows, n), -1, dtype=np.int32), np.full((rows, n), -np.inf, dtype=np.float32)
