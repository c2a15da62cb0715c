"""recommender/ids.py: id -> row over a version's id arrays, as a dict would answer."""

from __future__ import annotations

import numpy as np

from recommender.ids import IdIndex


def test_rows_of_ids_as_in_the_array():
    ids = np.array(["85123A", "22423", "POST", "10002", "M"])
    index = IdIndex(ids)
    assert len(index) == 5
    assert [index.get(i) for i in ids.tolist()] == [0, 1, 2, 3, 4]
    assert index.get("99999") is None and index.get("") is None and index.get("85123") is None
    assert "POST" in index and "post" not in index and 22423 not in index
    assert index.get(22423) is None  # not a string: never a row


def test_an_empty_index():
    index = IdIndex(np.array([], dtype=str))
    assert len(index) == 0 and index.get("x") is None and "x" not in index


def test_rows_of_an_array_of_ids_as_get_answers_each():
    ids = np.array(["85123A", "22423", "POST", "10002", "M"])
    index = IdIndex(ids)
    keys = ["M", "99999", "85123A", "", "85123", "zzz", "10002", "POST"]
    expected = [-1 if index.get(k) is None else index.get(k) for k in keys]
    assert index.rows_of(np.array(keys)).tolist() == expected
    assert index.rows_of(keys).dtype == np.int64
    assert index.rows_of(np.array([], dtype=str)).tolist() == []
    assert IdIndex(np.array([], dtype=str)).rows_of(["x"]).tolist() == [-1]
