"""Item-to-item neighbours from the model's item factors (cosine), precomputed at training.

A product page and "because you viewed" then cost one row read, not a catalog-wide dot product.
"""

from __future__ import annotations

import numpy as np


def normalise(factors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (factors / norms).astype(np.float32)


def top_k_neighbours(
    item_factors: np.ndarray, k: int, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """For each item, the k most similar other items and their cosine, in blocks to bound memory."""
    unit = normalise(item_factors)
    n = unit.shape[0]
    k = min(k, max(n - 1, 0))
    ids = np.zeros((n, k), dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return ids, scores
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = unit[start:stop] @ unit.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never yourself
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1)
        ids[start:stop] = np.take_along_axis(part, order, axis=1)
        scores[start:stop] = np.take_along_axis(part_scores, order, axis=1)
    return ids, scores
