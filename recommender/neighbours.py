"""Item-to-item neighbours from the model's item factors (cosine), precomputed at training.

A product page and "because you viewed" then cost one row read, not a catalog-wide dot product.

Exact search compares every item with every other: fine for the demo store's few thousand
products, hours for a million. Above EXACT_LIMIT items an HNSW graph (faiss, a dependency)
answers instead, and the recall it costs is measured on a sample against
the exact answer and recorded with the version (`NeighbourReport`).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import numpy as np

EXACT_LIMIT = 100_000  # items; above this, approximate search (when faiss is available)
BLOCK_BYTES = 256 * 1024 * 1024  # the exact search's similarity block, bounded
HNSW_M = 32  # graph degree: recall 0.99 at 1M items with efSearch 64 (docs/benchmarks.md)
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128  # recall@50 0.96 on 1M generated items (docs/benchmarks.md), 0.1 ms each
RECALL_SAMPLE = 1000


@dataclass(frozen=True)
class NeighbourReport:
    """How a version's neighbours were found, and what approximate search cost in recall."""

    method: str  # "exact" or "hnsw"
    k: int
    seconds: float
    recall_at_k: float | None = None  # hnsw only: against exact search on a sample of items
    sample: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def normalise(factors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (factors / norms).astype(np.float32)


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def choose_method(n_items: int) -> str:
    return "hnsw" if n_items > EXACT_LIMIT and _faiss() is not None else "exact"


def top_k_neighbours(
    item_factors: np.ndarray, k: int, method: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each item, the k most similar other items and their cosine, best first."""
    ids, scores, _ = neighbours_with_report(item_factors, k, method)
    return ids, scores


def neighbours_with_report(
    item_factors: np.ndarray, k: int, method: str | None = None
) -> tuple[np.ndarray, np.ndarray, NeighbourReport]:
    """top_k_neighbours, and how they were found. `method`: "exact", "hnsw" or None (by size)."""
    unit = normalise(item_factors)
    n = unit.shape[0]
    k = min(k, max(n - 1, 0))
    method = method or choose_method(n)
    started = time.perf_counter()
    if k == 0:
        empty = np.zeros((n, 0), dtype=np.int32), np.zeros((n, 0), dtype=np.float32)
        return *empty, NeighbourReport("exact", 0, 0.0)
    if method == "exact":
        ids, scores = _exact(unit, np.arange(n), k)
        return ids, scores, NeighbourReport("exact", k, round(time.perf_counter() - started, 2))
    if method != "hnsw":
        raise ValueError(f"unknown neighbour method {method!r}: exact or hnsw")
    # products nobody bought have a zero factor vector: no direction, no neighbours, and never
    # anyone's neighbour (cosine 0); leaving them out of the graph keeps its search sharp
    live = np.flatnonzero(np.abs(unit).sum(axis=1) > 0)
    ids = np.zeros((n, k), dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    live_unit = np.ascontiguousarray(unit[live])
    found, found_scores = _hnsw(live_unit, min(k, max(len(live) - 1, 0)))
    ids[live, : found.shape[1]] = live[found]
    scores[live, : found.shape[1]] = found_scores
    ids[scores == 0] = 0
    seconds = time.perf_counter() - started
    if found.shape[1] == 0:
        return ids, scores, NeighbourReport("hnsw", k, round(seconds, 2), None, 0)
    rng = np.random.default_rng(0)
    sample = rng.choice(len(live), size=min(RECALL_SAMPLE, len(live)), replace=False)
    exact_ids, _ = _exact(live_unit, sample, found.shape[1])
    pairs = zip(found[sample].tolist(), exact_ids.tolist(), strict=True)
    hits = sum(len(set(a) & set(b)) for a, b in pairs)
    recall = hits / max(found.shape[1] * len(sample), 1)
    return ids, scores, NeighbourReport("hnsw", k, round(seconds, 2), round(recall, 4), len(sample))


def _exact(unit: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force for the given rows, in blocks so the similarity matrix stays bounded."""
    n = unit.shape[0]
    ids = np.zeros((len(rows), k), dtype=np.int32)
    scores = np.zeros((len(rows), k), dtype=np.float32)
    block = max(1, min(2048, BLOCK_BYTES // (4 * max(n, 1))))
    for start in range(0, len(rows), block):
        part_rows = rows[start : start + block]
        sims = unit[part_rows] @ unit.T
        sims[np.arange(len(part_rows)), part_rows] = -np.inf  # never yourself
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1)
        ids[start : start + len(part_rows)] = np.take_along_axis(part, order, axis=1)
        scores[start : start + len(part_rows)] = np.take_along_axis(part_scores, order, axis=1)
    return ids, scores


def _hnsw(unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """An HNSW graph on inner product (= cosine on unit vectors), every item queried once;
    row numbers are those of `unit`."""
    faiss = _faiss()
    if faiss is None:
        raise RuntimeError("approximate neighbours need faiss: pip install faiss-cpu")
    if k == 0:
        return np.zeros((unit.shape[0], 0), np.int32), np.zeros((unit.shape[0], 0), np.float32)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index = faiss.IndexHNSWFlat(unit.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.add(unit)
    index.hnsw.efSearch = max(HNSW_EF_SEARCH, k + 1)
    found_scores, found = index.search(unit, k + 1)  # each item finds itself too
    n = unit.shape[0]
    drop = (found == np.arange(n)[:, None]) | (found < 0)
    found_scores = np.where(drop, -np.inf, found_scores)
    order = np.argsort(-found_scores, axis=1, kind="stable")[:, :k]
    ids = np.take_along_axis(found, order, axis=1)
    scores = np.take_along_axis(found_scores, order, axis=1)
    missing = ~np.isfinite(scores)  # fewer than k found: padded like item-kNN's lists
    ids[missing], scores[missing] = 0, 0.0
    return ids.astype(np.int32), scores.astype(np.float32)
