"""Matrix-factorisation models from implicit (ALS, BPR) behind the one interface (base.py).

implicit is imported only inside fit functions, at train time, in a process that never forks
afterwards; fold-in for new users is plain numpy, so workers can do it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from recommender.base import Progress, Recommender, SideInfo, cosine_similar
from recommender.progress import counter


@dataclass(frozen=True)
class ALSParams:
    """Hyper-parameters of implicit's ALS; defaults chosen on the bundled data's temporal split."""

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 2.0
    iterations: int = 15
    random_state: int = 42

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FittedFactors:
    user_factors: np.ndarray  # users x factors, float32
    item_factors: np.ndarray  # items x factors, float32


def fit_als(
    matrix: sp.csr_matrix,
    params: ALSParams,
    progress: Callable[[str], None] | None = None,
) -> FittedFactors:
    """Fit ALS on a users x items confidence matrix (CPU), one BLAS thread as implicit asks."""
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.random_state,
        )
        if hasattr(model, "to_cpu") and not type(model).__module__.startswith("implicit.cpu"):
            model = model.to_cpu()

        shown = counter("ALS", params.iterations, "iteration")

        def _callback(iteration: int, elapsed: float, _loss: float) -> None:
            shown.update(1)
            if progress:
                progress(f"ALS iteration {iteration + 1}/{params.iterations} ({elapsed:.2f}s)")

        with shown:
            model.fit(matrix, show_progress=False, callback=_callback)
    return FittedFactors(
        np.ascontiguousarray(model.user_factors, dtype=np.float32),
        np.ascontiguousarray(model.item_factors, dtype=np.float32),
    )


def gram(yty: np.ndarray, regularization: float) -> np.ndarray:
    """fold_in's left-hand side before a shopper's items: yty + regularization * I, float64."""
    return yty.astype(np.float64) + regularization * np.eye(yty.shape[0])


def fold_in(
    item_factors: np.ndarray,
    yty: np.ndarray,
    items: np.ndarray,
    confidences: np.ndarray,
    regularization: float,
    alpha: float,
    yty_reg: np.ndarray | None = None,
) -> np.ndarray:
    """The ALS user vector for a set of (item, confidence) pairs, solved exactly (Cholesky).

    This is implicit's own least-squares step for one user, in numpy, so a worker can recompute
    a shopper's taste from this very session without touching implicit's OpenMP code.
    yty_reg: `gram(yty, regularization)`, where the caller keeps it (one per model version).
    """
    c = alpha * np.asarray(confidences, dtype=np.float64)
    y = item_factors[np.asarray(items, dtype=np.int64)].astype(np.float64)
    a = gram(yty, regularization) if yty_reg is None else yty_reg.copy()
    a += (y.T * (c - 1.0)) @ y
    b = (y.T * c).sum(axis=1)
    return np.linalg.solve(a, b).astype(np.float32)


def fold_in_rows(
    item_factors: np.ndarray,
    user_items: sp.csr_matrix,
    regularization: float,
    alpha: float,
) -> np.ndarray:
    """ALS user vectors for each row of user_items, one exact solve per row."""
    yty = item_factors.T @ item_factors
    out = np.zeros((user_items.shape[0], item_factors.shape[1]), dtype=np.float32)
    for r in range(user_items.shape[0]):
        lo, hi = user_items.indptr[r], user_items.indptr[r + 1]
        if hi > lo:
            out[r] = fold_in(
                item_factors,
                yty,
                user_items.indices[lo:hi],
                user_items.data[lo:hi],
                regularization,
                alpha,
            )
    return out


def mean_item_vectors(user_items: sp.csr_matrix, item_vectors: np.ndarray) -> np.ndarray:
    """Each row's confidence-weighted mean of the vectors of its items: a stranger who bought
    candles looks like a candle. Fold-in for models without a least-squares step."""
    weight = np.asarray(user_items.sum(axis=1), dtype=np.float32).ravel()
    weight[weight == 0] = 1.0
    return np.asarray(sp.diags(1.0 / weight) @ user_items @ item_vectors, dtype=np.float32)


class FactorModel(Recommender):
    """Shared by ALS and BPR: scores are dot products of user and item factors."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    def _known_scores(self, userids: np.ndarray) -> np.ndarray:
        return self.user_factors[userids] @ self.item_factors.T

    def similar_items(self, itemids, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        return cosine_similar(self.item_factors, itemids, n)


class ALSRecommender(FactorModel):
    """implicit's ALS; fold-in is its own least-squares step, solved exactly in numpy."""

    name = "als"

    def __init__(self, params: ALSParams | None = None):
        super().__init__()
        self.params = params or ALSParams()

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        fitted = fit_als(user_items, self.params, progress)
        self.user_factors, self.item_factors = fitted.user_factors, fitted.item_factors

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        users = fold_in_rows(
            self.item_factors, user_items, self.params.regularization, self.params.alpha
        )
        return users @ self.item_factors.T


@dataclass(frozen=True)
class BPRParams:
    """Hyper-parameters of implicit's BPR (it learns from which items, not how often)."""

    factors: int = 64
    learning_rate: float = 0.05
    regularization: float = 0.01
    iterations: int = 40
    random_state: int = 42

    def as_dict(self) -> dict:
        return asdict(self)


class BPRRecommender(FactorModel):
    """implicit's BPR. Its item factors carry a bias in the last column (the user's is 1).

    BPR has no closed-form fold-in; a new user's vector is the confidence-weighted mean of the
    factors of the items they touched (the same rule as the hybrid's), with the bias kept.
    """

    name = "bpr"

    def __init__(self, params: BPRParams | None = None):
        super().__init__()
        self.params = params or BPRParams()

    def _fit(self, user_items: sp.csr_matrix, side: SideInfo, progress: Progress) -> None:
        from implicit.bpr import BayesianPersonalizedRanking
        from threadpoolctl import threadpool_limits

        p = self.params
        progress(f"BPR: {p.iterations} iterations, {p.factors} factors")
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=p.factors,
                learning_rate=p.learning_rate,
                regularization=p.regularization,
                iterations=p.iterations,
                random_state=p.random_state,
            )
            if hasattr(model, "to_cpu") and not type(model).__module__.startswith("implicit.cpu"):
                model = model.to_cpu()
            model.fit(user_items, show_progress=False)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def _fold_in_scores(self, user_items, user_features) -> np.ndarray:
        return (
            mean_item_vectors(user_items, self.item_factors[:, :-1]) @ self.item_factors[:, :-1].T
            + self.item_factors[:, -1]
        )
