"""The evaluation metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.metrics import (
    ap_at_k,
    coverage,
    ndcg_at_k,
    novelty,
    recall_at_k,
    self_information,
    summarise,
)


def test_ndcg_by_hand():
    # hits at ranks 1 and 3 of two relevant: (1 + 1/log2 4) / (1 + 1/log2 3)
    assert ndcg_at_k([1, 2, 3], {1, 3}) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([9, 8, 1], {1}) == pytest.approx(0.5)  # one hit at rank 3: 1/log2(4)
    assert ndcg_at_k([9, 8, 7], {1}) == 0.0
    assert ndcg_at_k([], {1}) == 0.0
    assert ndcg_at_k([1, 2], set()) == 0.0
    # more relevant items than k: the ideal has k hits, a perfect list scores 1
    assert ndcg_at_k(list(range(10)), set(range(12))) == pytest.approx(1.0)
    # only the first k count
    assert ndcg_at_k([5, 6, 1], {1}, k=2) == 0.0


def test_recall_by_hand():
    assert recall_at_k([1, 2, 3], {1, 3}, k=2) == 0.5
    assert recall_at_k([1, 2, 3], {1, 3}, k=20) == 1.0
    assert recall_at_k([1, 1, 2], {1, 4, 5, 6}, k=20) == 0.25  # a repeat is one hit
    assert recall_at_k([7], {1}) == 0.0


def test_average_precision_by_hand():
    # precision 1/1 at rank 1, 2/3 at rank 3; two relevant
    assert ap_at_k([1, 2, 3], {1, 3}) == pytest.approx((1 + 2 / 3) / 2)
    assert ap_at_k([9, 8, 1], {1}) == pytest.approx(1 / 3)
    assert ap_at_k(list(range(10)), set(range(12))) == pytest.approx(1.0)  # normalised by k
    assert ap_at_k([4, 5], {1}) == 0.0


def test_coverage_and_novelty_by_hand():
    assert coverage([[0, 1, -1], [1, 2]], 10) == pytest.approx(0.3)
    info = self_information(np.array([50, 25, 0]), 100)
    np.testing.assert_allclose(info, [1.0, 2.0, math.log2(100)])  # never bought: one buyer
    assert novelty([[0, 1], [-1]], info) == pytest.approx(1.5)


def test_summarise_averages_over_customers():
    info = np.zeros(5)
    m = summarise([[0, 1], [2, 3]], [[0, 1], [2, 3]], [{0}, {4}], 5, info)
    assert m["users"] == 2
    assert m["ndcg@10"] == pytest.approx(0.5)
    assert m["recall@20"] == pytest.approx(0.5)
    assert m["map@10"] == pytest.approx(0.5)
    assert m["coverage@10"] == pytest.approx(0.8)
    assert summarise([], [], [], 5, info) == {"users": 0}
