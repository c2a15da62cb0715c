"""Contract tests for the recommender on a small matrix whose right answer is known.

Two tastes: users 0-19 buy items 0-5 ("red"), users 20-39 buy items 6-11 ("blue"). A red shopper
must be recommended red items they do not have yet; fold-in must equal implicit's own solver.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import registry
from recommender.dataset import build_interactions
from recommender.models import ALSParams, fit_als, fold_in
from recommender.neighbours import top_k_neighbours
from recommender.serving import Model, memory_mapped
from recommender.train import train

RED, BLUE = range(0, 6), range(6, 12)


def _lines() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    inv = 0
    for user in range(40):
        items = RED if user < 20 else BLUE
        for item in rng.choice(list(items), size=3, replace=False):
            inv += 1
            rows.append(
                {
                    "invoice": f"i{inv}",
                    "customer_id": f"c{user}",
                    "product_id": f"p{item:02d}",
                    "ts": pd.Timestamp("2011-11-01") + pd.Timedelta(days=int(inv % 28)),
                    "country": "GB" if user % 2 else "DE",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    params = ALSParams(factors=4, regularization=0.05, alpha=2.0, iterations=20)
    report = train(_lines(), [f"p{i:02d}" for i in range(14)], root, params=params)
    return root, report


def test_matrix_is_users_by_items_with_all_catalog_columns():
    data = build_interactions(_lines(), item_ids=np.array([f"p{i:02d}" for i in range(14)]))
    assert data.matrix.shape == (40, 14)
    assert data.matrix[:, 12:].nnz == 0  # never-bought products still have a column
    with pytest.raises(ValueError):
        type(data)(data.user_ids[:3], data.item_ids, data.matrix)


def test_recommends_the_right_taste(trained):
    root, report = trained
    model = Model(root / report.version)
    for user, taste in (("c0", RED), ("c27", BLUE)):
        vec = model.user_vector(user)
        owned = set(model.history(user))
        recs = model.recommend_vector(vec, 2, exclude=owned)
        assert recs, user
        for pid, _ in recs:
            assert int(pid[1:]) in taste, (user, recs)
            assert pid not in owned


def test_session_fold_in_moves_an_anonymous_visitor(trained):
    root, report = trained
    model = Model(root / report.version)
    assert model.user_vector(None) is None
    vec = model.user_vector(None, [("p07", "view"), ("p08", "view")])
    top = [pid for pid, _ in model.recommend_vector(vec, 3, exclude={"p07", "p08"})]
    assert all(int(p[1:]) in BLUE for p in top), top


def test_fold_in_equals_implicits_solver():
    from implicit.als import AlternatingLeastSquares

    rng = np.random.default_rng(3)
    m = sp.random(30, 20, density=0.2, random_state=4, format="csr", dtype=np.float32)
    m.data[:] = rng.integers(1, 4, size=m.nnz)
    model = AlternatingLeastSquares(
        factors=6, regularization=0.1, alpha=2.0, iterations=5, random_state=1
    )
    model.fit(m, show_progress=False)
    model = model.to_cpu() if hasattr(model, "to_cpu") else model
    row = m[5]
    expected = model.recalculate_user(5, row)
    yty = model.item_factors.T @ model.item_factors
    got = fold_in(model.item_factors, yty, row.indices, row.data, 0.1, 2.0)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_fit_als_shapes():
    m = sp.random(10, 7, density=0.4, random_state=1, format="csr", dtype=np.float32)
    f = fit_als(m, ALSParams(factors=4, iterations=2))
    assert f.user_factors.shape == (10, 4) and f.item_factors.shape == (7, 4)


def test_neighbours_exclude_self_and_are_sorted():
    factors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
    ids, scores = top_k_neighbours(factors, 2)
    assert ids[0, 0] == 1 and ids[2, 0] == 3
    assert all(i not in row for i, row in enumerate(ids))
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_popularity_lists_are_complete(trained):
    root, report = trained
    model = Model(root / report.version)
    overall = model.popular("overall")
    assert {pid for pid, _ in overall} == set(_lines()["product_id"])  # sold ones, not p12/p13
    assert set(model.popularity["by_country"]) == {"GB", "DE"}
    assert model.popular("by_country", "FR") == []
    assert model.popular("by_month", "11")


def test_registry_publish_and_rollback(trained, tmp_path):
    root, report = trained
    assert registry.current(root) == report.version
    second = train(
        _lines(),
        [f"p{i:02d}" for i in range(14)],
        root,
        params=ALSParams(factors=4, iterations=2),
        publish=False,
    )
    assert registry.current(root) == report.version  # unpublished versions are not served
    registry.publish(root, second.version)
    assert registry.current(root) == second.version
    assert registry.rollback(root) == report.version
    meta = registry.read_meta(root, report.version)
    assert meta["counts"]["users"] == 40 and "implicit" in meta["libraries"]
    with pytest.raises(ValueError):
        registry.publish(root, "no-such-version")
    json.dumps(meta)


def test_arrays_load_memory_mapped(trained):
    root, report = trained
    model = Model(root / report.version)
    assert memory_mapped(model.item_factors)
    assert not isinstance(model.item_factors, np.memmap)  # a plain view: cheap to slice


def test_approximate_neighbours_match_exact_ones_and_report_their_recall():
    pytest.importorskip("faiss")  # a dependency; skipped only where its wheel is missing
    from recommender.neighbours import neighbours_with_report

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 16))
    factors = (centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, 16))).astype(
        np.float32
    )
    factors[:100] = 0  # products nobody bought: ALS leaves their factors at zero
    exact_ids, exact_scores, exact = neighbours_with_report(factors, 10, "exact")
    ids, scores, approx = neighbours_with_report(factors, 10, "hnsw")
    assert exact.method == "exact" and exact.recall_at_k is None
    assert approx.method == "hnsw" and approx.sample == 1000 and approx.k == 10
    assert ids.shape == exact_ids.shape == (4000, 10) and ids.dtype == np.int32
    assert all(i not in row for i, row in enumerate(ids[100:], start=100))  # never yourself
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    # a product nobody bought has no neighbours and is nobody's neighbour, either way
    for found, cosines in ((ids, scores), (exact_ids, exact_scores)):
        assert (cosines[:100] == 0).all()
        assert not np.isin(found[100:][cosines[100:] > 0], np.arange(100)).any()
    pairs = zip(ids[100:], exact_ids[100:], strict=True)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in pairs])
    assert overlap >= 0.95 and abs(approx.recall_at_k - overlap) < 0.03
    # where both found the same nearest neighbour, they agree on its cosine
    same = ids[100:, 0] == exact_ids[100:, 0]
    assert same.mean() >= 0.95
    np.testing.assert_allclose(
        scores[100:][same, 0], exact_scores[100:][same, 0], atol=1e-4, rtol=0
    )
