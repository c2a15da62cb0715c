"""What "for you" serves a visitor with a session but no purchases in the model, chosen per store.

The learned blend's weights are fitted on returning customers, whose own re-orders carry most
of the signal; a visitor with only a session has none of those features, so the blend may lose
to one of its own parts. At training (fit.py) the validation split's `new_session` group (new
customers whose first order is folded in as the session, scored on what they bought next) ranks
the served blend against each single candidate of SESSION_CANDIDATES (item-kNN from the
session, ALS folded in, EASE from the session, popularity), each with the session's own
products left out of the rail (today's rail), kept where the scores rank them, or first
(re-buying what is in the first order is "buy again" for a new customer). The winner, kept
only where it beats the blend as served today, goes into the version's `fitted["session"]`;
serving.Model reads it. Under fit.MIN_CUSTOMERS such customers the store keeps the default
and the note says so.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.base import top_n
from recommender.blend import SESSION_CANDIDATES, Shopper, features, learned, session_first
from recommender.dataset import confidence
from recommender.metrics import ndcg_at_k
from recommender.models import fold_in
from recommender.split import Group

# What the rail does with the session's own products (all purchases): leave them out (the rail
# as it was), keep them where the scores rank them, or put them first, best scored first (what
# "buy again" does with a customer's own products)
SESSION_PRODUCTS = ("out", "kept", "first")
DEFAULT = {"serve": "blend", "session_products": "out", "serve_new": "blend"}
# the view boost serving.Model.user_vector gives a session's product (one view)
_VIEW_BOOST = float(confidence(np.array([1.0]))[0]) * 2.0


def session_features(
    group: Group,
    item_factors: np.ndarray,
    regularization: float,
    alpha: float,
    knn: tuple[np.ndarray, np.ndarray],
    ease: tuple[np.ndarray, np.ndarray] | None,
    popularity: np.ndarray,
    trending: np.ndarray,
) -> dict[str, np.ndarray]:
    """The blend's features for each session-only visitor of `group`, as serving computes them
    for a visitor the model does not know: ALS folded in from the session (each product a
    view), neighbours and EASE of the session's products, no orders of their own."""
    hist = sp.csr_matrix(group.user_items, dtype=np.float32)
    n, n_items = hist.shape
    yty = item_factors.T @ item_factors
    als = np.zeros((n, n_items), dtype=np.float32)
    for k in range(n):
        items = hist.indices[hist.indptr[k] : hist.indptr[k + 1]].astype(np.int64)
        if len(items):
            vec = fold_in(
                item_factors, yty, items, np.full(len(items), _VIEW_BOOST), regularization, alpha
            )
            als[k] = item_factors @ vec
    knn_scores = neighbour_table(hist, *knn)
    ease_scores = None if ease is None else neighbour_table(hist > 0, *ease)
    zeros = np.zeros((n, n_items), dtype=np.float32)
    col = np.zeros((n, 1), dtype=np.float32)
    shopper = Shopper(zeros, zeros, zeros, col, col, col)
    return features(als, knn_scores, shopper, popularity, trending, ease_scores)


def neighbour_table(history: sp.csr_matrix, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Dense users x items sums of neighbour scores weighted by the history (what serving's
    blend.neighbour_scores computes for one shopper); fit.py's validation uses it too."""
    n, k = ids.shape
    table = sp.csr_matrix((scores.ravel(), ids.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    return np.asarray((sp.csr_matrix(history, dtype=np.float32) @ table).toarray())


def _ndcg(scores: np.ndarray, session: list[np.ndarray], truths: list, mode: str) -> np.ndarray:
    """Each visitor's NDCG@10, the session's products treated as `mode` says."""
    s = np.array(scores, dtype=np.float32)
    for k, items in enumerate(session):
        if mode == "out":
            s[k, items] = -np.inf
        elif mode == "first":
            s[k] = session_first(s[k], items)
    ids, _ = top_n(s, 10)
    return np.array([ndcg_at_k(r, t) for r, t in zip(ids, truths, strict=True)])


def _better(per: dict[str, np.ndarray], today: str) -> tuple[str | None, str]:
    """The rail with the best mean where it beats `today` by more than the noise of this few
    visitors: its mean per-visitor gain over today's rail above the gain's standard error (a
    group of a few dozen visitors would otherwise switch on a coin flip). (name or None, how)."""
    best = max(per, key=lambda k: per[k].mean())
    gain, noise = gain_and_noise(per[best], per[today])
    how = (
        f"{best} {per[best].mean():.4f} against today's {per[today].mean():.4f} "
        f"(gain {gain:+.4f}, its standard error {noise:.4f})"
    )
    return (best if gain > noise else None), how


def gain_and_noise(mine: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """The mean per-customer gain of one rail's scores over another's (paired, the same
    customers), and the standard error of that mean (infinite for fewer than two customers):
    a gain below it is what a coin flip over this few customers gives. fit.guard uses it too."""
    gain = np.asarray(mine, dtype=np.float64) - np.asarray(other, dtype=np.float64)
    noise = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else float("inf")
    return float(gain.mean()) if len(gain) else 0.0, noise


def choose(
    group: Group,
    feats: dict[str, np.ndarray],
    weights: dict[str, float],
    new_weights: dict[str, float],
) -> dict:
    """NDCG@10 of the served blend (`weights`, `new_weights`: the version's) and of each
    candidate for the group, with the session's products each way of SESSION_PRODUCTS (all
    purchases; named "<rail>/<way>") and on what they did not own (new products only); the
    best of them where it clearly beats the blend as served today (_better)."""
    hist = group.user_items
    session = [hist.indices[hist.indptr[k] : hist.indptr[k + 1]] for k in range(hist.shape[0])]
    new_truths = [
        frozenset(t - set(s.tolist())) for t, s in zip(group.truths, session, strict=True)
    ]
    rails = {"blend": weights, **SESSION_CANDIDATES}
    all_p: dict[str, np.ndarray] = {}
    new_p: dict[str, np.ndarray] = {}
    for name, w in rails.items():
        scores = learned(feats, w)
        for mode in SESSION_PRODUCTS:
            all_p[f"{name}/{mode}"] = _ndcg(scores, session, group.truths, mode)
        new_w = new_weights if name == "blend" else w
        new_p[name] = _ndcg(learned(feats, new_w), session, new_truths, "out")
    out = dict(
        DEFAULT,
        customers=len(group),
        all_purchases_ndcg={k: round(float(v.mean()), 4) for k, v in all_p.items()},
        new_only_ndcg={k: round(float(v.mean()), 4) for k, v in new_p.items()},
    )
    best, how = _better(all_p, "blend/out")
    if best:
        out["serve"], out["session_products"] = best.split("/")
    notes = [f"all purchases: {'serving' if best else 'the blend stays against'} {how}"]
    best, how = _better(new_p, "blend")
    if best:
        out["serve_new"] = best
    notes.append(f"new products only: {'serving' if best else 'the blend stays against'} {how}")
    out["note"] = f"visitors with only a session ({len(group)} on validation): " + "; ".join(notes)
    return out
