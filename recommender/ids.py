"""Id -> row lookups over a version's id arrays, without a dict per process.

A dict of a million ids costs about 100 MB in every worker, and each lookup touches the
reference count of the int it returns, so pages shared after the fork become private over
time. A sorted copy of the id array and a binary search cost a few microseconds instead of a
few dozen nanoseconds; the recent answers are memoised (bounded), and a page asks for the
same few hundred products again and again.
"""

from __future__ import annotations

import functools

import numpy as np

MEMO = 65_536  # answers kept per index and process


class IdIndex:
    """Row of each id in `ids` (as in the array), or None."""

    def __init__(self, ids: np.ndarray, memo: int = MEMO):
        ids = np.asarray(ids)
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        self.get = functools.lru_cache(maxsize=memo)(self._find)

    def _find(self, key: str) -> int | None:
        if not isinstance(key, str) or not len(self._sorted):
            return None
        i = int(np.searchsorted(self._sorted, key))
        if i < len(self._sorted) and self._sorted[i] == key:
            return int(self._order[i])
        return None

    def rows_of(self, keys) -> np.ndarray:
        """The row of each key (get(), for an array of them at once), -1 for one not here."""
        keys = np.asarray(keys)
        if not len(keys) or not len(self._sorted):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, keys), len(self._sorted) - 1)
        return np.where(self._sorted[at] == keys, self._order[at], -1).astype(np.int64)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return len(self._sorted)
