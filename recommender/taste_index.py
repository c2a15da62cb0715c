"""The products a taste vector scores highest, in a big catalog, exactly, without scoring all.

"For you" needs the top of ALS (`item_factors @ vector`) as candidates for the learned blend,
and its largest |score| to scale it. At 1M products x 64 factors that product reads 256 MB per
page, 9.4 ms (p50) on the 2-core VM: most of what a cold home page's recommendations cost
there (docs/benchmarks.md).

An inner product is at most the product of the two lengths (Cauchy-Schwarz), and in implicit
feedback the long tail has short factors. So the products are stored longest first; a query
scores them block by block and stops as soon as the next product's length times the vector's
can no longer beat the k-th best score found. What it skips can neither enter the top k nor
hold the largest |score| (no skipped |score| reaches the k-th best; the most negative score
scored is kept too). The answer is exact, no recall is lost. On the generated 1M catalog a
query for the top 500 read a median of 12,288 products and at most 61,440, in 0.35 ms (p50)
(docs/benchmarks.md). A vector unlike anyone's costs at worst the full scan.

The index is plain arrays saved with the version and memory-mapped like the factors, so
workers share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIRST_BLOCK = 4096  # products scored before the first check; each later block doubles
FILES = ("taste_rows", "taste_factors", "taste_norms")


@dataclass(frozen=True)
class TasteIndex:
    rows: np.ndarray  # item rows, longest factors first; products with zero factors left out
    factors: np.ndarray  # item_factors[rows]
    norms: np.ndarray  # the length of each, descending

    @classmethod
    def build(cls, item_factors: np.ndarray) -> TasteIndex:
        factors = np.asarray(item_factors, dtype=np.float32)
        norms = np.linalg.norm(factors, axis=1)
        order = np.argsort(-norms, kind="stable")
        order = order[norms[order] > 0]
        return cls(order.astype(np.int64), np.ascontiguousarray(factors[order]), norms[order])

    def top(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, int]:
        """Item rows of the k largest inner products with `vector` and of the most negative
        one (so the largest |score| is among them), in no order; and how many products were
        scored to be sure of them."""
        length = float(np.linalg.norm(vector))
        n = len(self.rows)
        best_rows = np.zeros(0, dtype=np.int64)
        best = np.zeros(0, dtype=np.float32)
        lowest, lowest_row = np.inf, -1
        start, block = 0, FIRST_BLOCK
        while start < n:
            end = min(start + block, n)
            part = self.factors[start:end] @ vector
            at = int(np.argmin(part))
            if part[at] < lowest:
                lowest, lowest_row = float(part[at]), start + at
            scores = np.concatenate([best, part])
            rows = np.concatenate([best_rows, np.arange(start, end)])
            if len(scores) > k:
                keep = np.argpartition(-scores, k - 1)[:k]
                scores, rows = scores[keep], rows[keep]
            best, best_rows = scores, rows
            start, block = end, block * 2
            if start < n and len(best) == k and best.min() >= length * float(self.norms[start]):
                break
        found = np.r_[best_rows, lowest_row] if lowest_row >= 0 else best_rows
        return np.asarray(self.rows[found], dtype=np.int64), start

    def save(self, path: Path) -> None:
        for name, array in zip(FILES, (self.rows, self.factors, self.norms), strict=True):
            np.save(path / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> TasteIndex | None:
        """The version's index, memory-mapped; None in a version trained without one."""
        if not all((path / f"{name}.npy").is_file() for name in FILES):
            return None
        arrays = (np.load(path / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in FILES)
        return cls(*(np.asarray(a) for a in arrays))  # plain views: see serving._load
