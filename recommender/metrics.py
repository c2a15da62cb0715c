"""Ranking metrics for top-n lists against what each customer really bought (binary relevance).

Each function takes one ranked list (item ids, best first; -1 for an empty slot) and the set of
relevant items, so the same code scores a model's batch output and a rail the shop served.
Definitions (docs/evaluation.md has them with examples):

- NDCG@k: sum over hits at rank r (1-based) of 1/log2(r+1), divided by the same sum for an
  ideal list with min(|relevant|, k) hits.
- Recall@k: hits in the top k / |relevant|.
- AP@k: sum over hits at rank r of precision@r, divided by min(|relevant|, k); MAP@k is its mean.
- Coverage: share of the catalog that appears in at least one top-k list.
- Novelty: mean self-information -log2(p(i)) of recommended items, p(i) = share of training
  customers who bought i (never-bought items count as bought by one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(ranked: Sequence, relevant: Collection, k: int = 10) -> float:
    if not relevant:
        return 0.0
    disc = _discounts(k)
    gains = np.array([1.0 if x in relevant else 0.0 for x in list(ranked)[:k]])
    dcg = float((gains * disc[: len(gains)]).sum())
    idcg = float(disc[: min(len(relevant), k)].sum())
    return dcg / idcg


def recall_at_k(ranked: Sequence, relevant: Collection, k: int = 20) -> float:
    if not relevant:
        return 0.0
    hits = sum(1 for x in set(list(ranked)[:k]) if x in relevant)
    return hits / len(relevant)


def ap_at_k(ranked: Sequence, relevant: Collection, k: int = 10) -> float:
    if not relevant:
        return 0.0
    hits = 0
    total = 0.0
    for rank, x in enumerate(list(ranked)[:k], start=1):
        if x in relevant:
            hits += 1
            total += hits / rank
    return total / min(len(relevant), k)


def coverage(lists: Iterable[Sequence[int]], n_items: int) -> float:
    """Share of the n_items catalog recommended to anyone (item ids are indexes; -1 is empty)."""
    seen: set[int] = set()
    for ranked in lists:
        seen.update(int(i) for i in ranked if int(i) >= 0)
    return len(seen) / n_items if n_items else 0.0


def self_information(buyers: np.ndarray, n_users: int) -> np.ndarray:
    """-log2 of each item's share of buyers, from training data only."""
    p = np.maximum(np.asarray(buyers, dtype=np.float64), 1.0) / max(n_users, 1)
    return -np.log2(np.minimum(p, 1.0))


def novelty(lists: Iterable[Sequence[int]], information: np.ndarray) -> float:
    values = [information[int(i)] for ranked in lists for i in ranked if int(i) >= 0]
    return float(np.mean(values)) if values else 0.0


def summarise(
    lists10: Sequence[Sequence[int]],
    lists20: Sequence[Sequence[int]],
    truths: Sequence[Collection[int]],
    n_items: int,
    information: np.ndarray,
) -> dict[str, float]:
    """All the metrics for one model on one group of customers (item ids are indexes)."""
    n = len(truths)
    if n == 0:
        return {"users": 0}
    at10 = list(zip(lists10, truths, strict=True))
    at20 = list(zip(lists20, truths, strict=True))
    return {
        "users": n,
        "ndcg@10": float(np.mean([ndcg_at_k(r, t, 10) for r, t in at10])),
        "recall@20": float(np.mean([recall_at_k(r, t, 20) for r, t in at20])),
        "map@10": float(np.mean([ap_at_k(r, t, 10) for r, t in at10])),
        "coverage@10": coverage(lists10, n_items),
        "novelty@10": novelty(lists10, information),
    }
