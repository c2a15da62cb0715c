"""EASE as the blend and the served "ease" candidate use it (recommender/ease.py), its ridge
penalty chosen per store on validation (fit._ease), and the guard's noise rule (fit.guard)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import recommender.ease as ease
from recommender.ease import L2_GRID, ease_neighbours, ease_weights
from recommender.fit import guard
from recommender.session_fit import gain_and_noise, neighbour_table

# 4 customers x 4 products: 0 and 1 go together, 2 goes with 0 but never with 1, 3 alone
X = sp.csr_matrix(
    np.array(
        [
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [1, 0, 1, 0],
            [0, 0, 0, 1],
        ],
        dtype=np.float32,
    )
)


def test_a_small_catalog_keeps_every_weight_so_the_blend_scores_as_the_bare_model():
    """Every off-diagonal weight of B, negative ones too: what a version keeps scores each
    customer exactly as the closed form (X B) does, and 1 pulls 2 down (never bought together)."""
    b = ease_weights(X, 1.0)
    ids, scores = ease_neighbours(X, k=1, l2=1.0)
    assert ids.shape == (4, 3) and not (ids == np.arange(4)[:, None]).any()  # never itself
    assert (scores < 0).any()
    np.testing.assert_allclose(neighbour_table(X, ids, scores), X.toarray() @ b, atol=1e-6)
    assert b[1, 2] < 0 < b[0, 2]
    # a known answer: with l2 = 1, P = (X'X + I)^-1 and B = I - P / diag(P)
    p = np.linalg.inv(X.toarray().T @ X.toarray() + np.eye(4))
    np.testing.assert_allclose(b, np.eye(4) - p / np.diag(p)[None, :], atol=1e-5)


def test_a_big_catalog_keeps_each_items_k_largest_positive_weights(monkeypatch):
    monkeypatch.setattr(ease, "FULL_ROWS", 3)
    ids, scores = ease_neighbours(X, k=2, l2=1.0)
    b = ease_weights(X, 1.0)
    assert ids.shape == (4, 2) and (scores >= 0).all()
    assert ids[0, 0] == int(np.argmax(b[0])) and scores[0, 0] == pytest.approx(b[0].max())


def test_the_ridge_grid_is_the_default_halved_and_doubled_not_fitted_on_a_store():
    assert L2_GRID == (ease.DEFAULT_L2 / 2, ease.DEFAULT_L2, ease.DEFAULT_L2 * 2)


def test_gain_and_noise_of_paired_scores():
    gain, noise = gain_and_noise(np.array([1.0, 0.0, 1.0, 0.0]), np.zeros(4))
    assert gain == pytest.approx(0.5)
    assert noise == pytest.approx(np.sqrt(1 / 3) / 2)  # std (ddof 1) / sqrt(4)
    assert gain_and_noise(np.array([1.0]), np.array([0.0]))[1] == float("inf")


def test_the_guard_keeps_the_blend_only_where_it_wins_by_more_than_the_noise():
    ease_each = np.linspace(0.2, 0.8, 400)
    # ahead by 0.005 on average, but +0.31 for one customer and -0.30 for the next: a coin
    # flip (standard error 0.015), so the single candidate serves
    per = {"blend": ease_each + np.tile([0.31, -0.30], 200), "ease": ease_each}
    scores = {k: float(v.mean()) for k, v in per.items()}
    assert scores["blend"] == pytest.approx(scores["ease"] + 0.005)
    chosen, note = guard(scores, per=per)
    assert chosen == "ease" and "by more than the noise" in note
    # ahead by 0.05 for nearly everyone: the blend serves
    per = {"blend": ease_each + 0.05, "ease": ease_each}
    scores = {k: float(v.mean()) for k, v in per.items()}
    assert guard(scores, per=per) == ("blend", "")
