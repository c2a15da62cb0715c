"""A category listing's head rows (core/strategies/listings._head_rows): looked up once per
model and category id list, the same rows a fresh lookup gives, read-only, and never shared
between models or lists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from storefront.core.strategies.listings import _head_rows


class Ids(Sequence):
    """A catalog's id list of one category (as catalog._Ids: a head() of the first n)."""

    def __init__(self, ids):
        self._ids = list(ids)

    def __len__(self):
        return len(self._ids)

    def __getitem__(self, i):
        return self._ids[i]

    def head(self, n):
        return np.array(self._ids[:n], dtype=str)


class Model:
    def __init__(self, rows: dict[str, int]):
        self.rows, self.asked = rows, 0

    def item_indices(self, pids):
        self.asked += 1
        return np.array([self.rows.get(str(p), -1) for p in pids], dtype=np.int64)


def test_rows_are_looked_up_once_per_model_and_list():
    model = Model({"a": 3, "b": 0, "d": 7})
    ids = Ids(["a", "b", "c", "d"])
    first = _head_rows(model, ids, 3)
    assert first.tolist() == [3, 0, -1] and model.asked == 1
    again = _head_rows(model, ids, 3)
    assert again is first and model.asked == 1
    with pytest.raises(ValueError):
        again[0] = 5  # read-only: every shopper's listing reads the same array
    # another model (a new version) or another list (a new catalog) asks again
    other = Model({"a": 1})
    assert _head_rows(other, ids, 3).tolist() == [1, -1, -1] and other.asked == 1
    moved = Ids(["d", "a"])
    assert _head_rows(model, moved, 2).tolist() == [7, 3] and model.asked == 2
    # a longer head than kept (a list grown under the same object): looked up anew
    assert _head_rows(model, ids, 4).tolist() == [3, 0, -1, 7] and model.asked == 3


def test_a_plain_list_is_looked_up_every_time():
    model = Model({"a": 2})
    assert _head_rows(model, ["a", "z"], 2).tolist() == [2, -1]
    assert _head_rows(model, ["a", "z"], 2).tolist() == [2, -1]
    assert model.asked == 2
