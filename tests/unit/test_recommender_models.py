"""One contract, every model: on a small matrix whose right answer is known.

Every implementation of the one model interface (recommender/interface.py) is in the suite: each
evaluated model, and "served", a published version trained by `storefront train`'s own training
function on the same purchases and loaded as a worker loads it (serving.Model).

Two tastes: users 0-19 ("red", in GB) buy items 0-5, users 20-39 ("blue", in DE) buy items 6-11;
user 40 (GB) bought item 0 only; items 12 and 13 were never bought but are described as red and
blue. Item 0 is the best seller overall, item 7 the best seller of the last 30 days. Personal
models must recommend a red shopper red items they do not have yet, fold a stranger's blue
session into blue items, and call red items similar to red items; the popularity models must
return exactly their list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import features
from recommender.base import Recommender, SideInfo, top_n
from recommender.blend import FEATURES, NEW_FEATURES, BlendParams
from recommender.ease import EASEParams, EASERecommender, TooLarge
from recommender.hybrid import LightFMParams, LightFMRecommender
from recommender.interface import Recommends
from recommender.knn import ItemKNNRecommender, KNNParams
from recommender.lineup import MODEL_NAMES, make_model
from recommender.models import ALSParams, ALSRecommender, BPRParams, BPRRecommender
from recommender.popularity import PopularityRecommender
from recommender.serving import Model
from recommender.train import train

RED, BLUE = set(range(0, 6)), set(range(6, 12))
N_USERS, N_ITEMS = 41, 14
PERSONAL = ("als", "bpr", "lightfm", "item_knn", "ease")
EVERY = (*MODEL_NAMES, "served")  # every implementation of the one interface
SERVES = (*PERSONAL, "served")  # those that answer from a shopper's own taste


def _matrix() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """users x items confidences, and days since each pair's latest order."""
    rows, cols, ages = [], [], []
    for u in range(N_USERS):
        # each shopper lacks two of their taste's five other items, in rotation, so every
        # item of a taste is bought equally often and the two unbought are the right answer
        if u == N_USERS - 1:  # one more red shopper who only bought the best seller
            own = {0}
        elif u < 20:
            others = [1, 2, 3, 4, 5]
            own = {0} | set(others) - {others[u % 5], others[(u + 1) % 5]}
        else:
            others = [6, 8, 9, 10, 11]
            own = {7} | set(others) - {others[u % 5], others[(u + 1) % 5]}
        for i in sorted(own):
            rows.append(u)
            cols.append(i)
            ages.append(5.0 if i == 7 else 200.0)  # item 7 is what sells lately
    data = np.full(len(rows), 1.7, dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(N_USERS, N_ITEMS))
    age = sp.csr_matrix((np.array(ages, dtype=np.float32), (rows, cols)), shape=m.shape)
    return m, age


def _side(last_days: sp.csr_matrix) -> SideInfo:
    ufeat, unames = features.user_features(["GB"] * 20 + ["DE"] * 20 + ["GB"])
    cats = ["red"] * 6 + ["blue"] * 6 + ["red", "blue"]
    titles = [f"{c.upper()} THING {i}" for i, c in enumerate(cats)]
    ifeat, inames = features.item_features(titles, cats, ["budget"] * N_ITEMS, min_word_count=2)
    return SideInfo(ufeat, ifeat, unames, inames, last_days)


def _build(name: str) -> Recommender:
    if name == "als":
        return ALSRecommender(ALSParams(factors=2, regularization=0.05, iterations=20))
    if name == "bpr":
        return BPRRecommender(BPRParams(factors=2, learning_rate=0.05, iterations=100))
    if name == "lightfm":
        return LightFMRecommender(LightFMParams(no_components=8, epochs=60), threads=1)
    if name == "item_knn":
        return ItemKNNRecommender(KNNParams(neighbours=10))
    if name == "ease":
        return EASERecommender(EASEParams(l2=10.0))
    return make_model(name)


def _served(m: sp.csr_matrix, age: sp.csr_matrix, root) -> Model:
    """The same purchases as order lines (user u is customer cUU, item i product pII, each pair
    one order on the day its age says), trained and loaded as the shop does."""
    coo, days = m.tocoo(), age.tocoo()
    end = pd.Timestamp("2011-12-01")
    lines = pd.DataFrame(
        {
            "invoice": [f"i{k}" for k in range(coo.nnz)],
            "customer_id": [f"c{u:02d}" for u in coo.row],
            "product_id": [f"p{i:02d}" for i in coo.col],
            "ts": [end - pd.Timedelta(days=float(d)) for d in days.data],
            "country": ["DE" if 20 <= u < 40 else "GB" for u in coo.row],
        }
    )
    params = ALSParams(factors=2, regularization=0.05, iterations=20)
    # the blend's weights given, not fitted: 41 shoppers are far too few to fit them on
    blend = BlendParams(
        weights={f: 1.0 for f in FEATURES}, new_weights={f: 1.0 for f in NEW_FEATURES}
    )
    catalog = [f"p{i:02d}" for i in range(N_ITEMS)]
    report = train(lines, catalog, root, params=params, blend=blend, fit=False)
    model = Model(root / report.version)
    # the version's rows and columns are the matrix's: user u is row u, item i column i
    assert model.user_ids.tolist() == [f"c{u:02d}" for u in range(N_USERS)]
    assert model.item_ids.tolist() == [f"p{i:02d}" for i in range(N_ITEMS)]
    return model


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> dict[str, Recommends]:
    m, age = _matrix()
    side = _side(age)
    models: dict[str, Recommends] = {name: _build(name).fit(m, side) for name in MODEL_NAMES}
    models["served"] = _served(m, age, tmp_path_factory.mktemp("models"))
    return models


@pytest.mark.parametrize("name", EVERY)
def test_every_implementation_keeps_the_one_interface(fitted, matrix, name):
    model = fitted[name]
    assert isinstance(model, Recommends)
    assert (model.n_users, model.n_items) == (N_USERS, N_ITEMS)
    with pytest.raises(ValueError, match="transposed"):  # users x items, named and checked
        model.recommend(np.arange(N_USERS), matrix.T.tocsr(), n=3)
    with pytest.raises(TypeError, match="users x items"):
        model.recommend([0], matrix[[0]].toarray(), n=3)


@pytest.fixture(scope="module")
def matrix() -> sp.csr_matrix:
    return _matrix()[0]


def test_every_model_is_in_the_suite():
    assert set(MODEL_NAMES) == {
        "popularity",
        "popularity_country",
        "popularity_recent",
        "als",
        "bpr",
        "lightfm",
        "item_knn",
        "ease",
    }


@pytest.mark.parametrize("name", EVERY)
def test_batch_shapes_order_and_filters(fitted, matrix, name):
    model = fitted[name]
    users = np.array([0, 5, 25, 39])
    ids, scores = model.recommend(users, matrix[users], n=5, filter_items=[12])
    assert ids.shape == scores.shape == (4, 5)
    assert ids.dtype.kind == "i" and ((ids >= -1) & (ids < N_ITEMS)).all()
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    for row, u in zip(ids, users, strict=True):
        owned = set(matrix[u].indices.tolist())
        assert not owned & set(row.tolist()), (name, u, row)  # already bought: filtered
        assert 12 not in row
    # one user at a time gives the same answer as the batch
    single, _ = model.recommend([5], matrix[[5]], n=5, filter_items=[12])
    np.testing.assert_array_equal(single[0], ids[1])


@pytest.mark.parametrize("name", EVERY)
def test_rows_must_match_the_users(fitted, matrix, name):
    with pytest.raises(ValueError, match="one row per user"):
        fitted[name].recommend([0, 1], matrix[[0]], n=3)


@pytest.mark.parametrize("name", SERVES)
def test_personal_models_recommend_the_right_taste(fitted, matrix, name):
    model = fitted[name]
    for u, taste in ((2, RED), (33, BLUE)):
        ids, _ = model.recommend([u], matrix[[u]], n=2)
        assert set(ids[0].tolist()) <= taste, (name, u, ids)


@pytest.mark.parametrize("name", SERVES)
def test_fold_in_a_stranger_from_their_session(fitted, name):
    model = fitted[name]
    session = sp.csr_matrix(([1.7, 1.7], ([0, 0], [8, 9])), shape=(1, N_ITEMS))
    ids, _ = model.recommend([-1], session, n=3)
    assert set(ids[0].tolist()) <= BLUE - {8, 9}, (name, ids)
    # recalculate_user folds in a known user from the row given, as for a stranger
    again, _ = model.recommend([3], session, n=3, recalculate_user=True)
    np.testing.assert_array_equal(again, ids)
    if isinstance(model, Recommender):  # the evaluated models' dense scores
        np.testing.assert_allclose(model.fold_in(session), model.scores([-1], session), rtol=1e-5)


@pytest.mark.parametrize("name", EVERY)
def test_nothing_known_gets_the_fallback(fitted, name):
    model = fitted[name]
    empty = sp.csr_matrix((1, N_ITEMS), dtype=np.float32)
    ids, _ = model.recommend([-1], empty, n=3)
    if name == "popularity_recent":
        assert ids[0, 0] == 7  # its own list: what sold lately
    else:
        assert ids[0, 0] == 0, (name, ids)  # the overall best seller
    assert -1 not in ids[0]


@pytest.mark.parametrize("name", EVERY)
def test_similar_items(fitted, name):
    ids, scores = fitted[name].similar_items([1, 8], n=3)
    assert ids.shape == (2, 3)
    assert 1 not in ids[0] and 8 not in ids[1]  # never itself
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    if name in SERVES:
        # the hybrid may also find the never-bought items described like them
        red, blue = (RED | {12}, BLUE | {13}) if name == "lightfm" else (RED, BLUE)
        assert set(ids[0].tolist()) <= red and set(ids[1].tolist()) <= blue, (name, ids)


def test_popularity_answers_are_exact(fitted, matrix):
    buyers = np.bincount(matrix.indices, minlength=N_ITEMS)
    ids, _ = fitted["popularity"].recommend([-1], sp.csr_matrix((1, N_ITEMS)), n=N_ITEMS)
    expected = np.argsort(-buyers, kind="stable")
    got = [i for i in ids[0] if i >= 0]
    assert [buyers[i] for i in got] == [buyers[i] for i in expected[: len(got)]]
    # by country: a stranger from DE gets the blue shoppers' list, best seller 7 first
    de, _ = features.user_features(["DE"], names=_side(_matrix()[1]).user_feature_names)
    ids, _ = fitted["popularity_country"].recommend(
        [-1], sp.csr_matrix((1, N_ITEMS)), n=6, user_features=de
    )
    assert ids[0, 0] == 7 and set(ids[0].tolist()) <= BLUE | {0}
    # a known red shopper's country is GB: red items
    ids, _ = fitted["popularity_country"].recommend([4], matrix[[4]], n=2)
    assert set(ids[0].tolist()) <= RED


def test_lightfm_uses_features_for_a_stranger(fitted):
    names = _side(_matrix()[1]).user_feature_names
    gb, _ = features.user_features(["GB"], names=names)
    empty = sp.csr_matrix((1, N_ITEMS), dtype=np.float32)
    model = fitted["lightfm"]
    by_features = model.scores([-1], empty, user_features=gb)
    assert not np.allclose(by_features, model.fallback)  # not the fallback: features answered


def test_top_n_marks_empty_slots():
    ids, scores = top_n(np.array([[1.0, -np.inf, 3.0]], dtype=np.float32), 4)
    assert ids.tolist() == [[2, 0, -1, -1]]
    assert np.isneginf(scores[0, 2:]).all()


def test_unknown_popularity_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        PopularityRecommender("weekly")


def test_ease_refuses_a_catalog_too_large_for_its_dense_closed_form(monkeypatch, matrix):
    import recommender.ease as ease

    monkeypatch.setattr(ease, "MAX_ITEMS", N_ITEMS - 1)
    with pytest.raises(TooLarge, match="EASE needs a dense"):
        EASERecommender().fit(matrix)


def test_ease_is_the_closed_form(matrix):
    """B minimises |X - XB|^2 + l2 |B|^2 with a zero diagonal: with the diagonal left free the
    answer would be (X'X + l2 I)^-1 X'X; each column of B solves its own constrained system."""
    model = EASERecommender(EASEParams(l2=10.0)).fit(matrix)
    x = (matrix > 0).toarray().astype(np.float64)
    b = model.weights.astype(np.float64)
    assert np.allclose(np.diag(b), 0)
    gram = x.T @ x
    for j in range(N_ITEMS):
        others = [i for i in range(N_ITEMS) if i != j]
        g = gram[np.ix_(others, others)] + 10.0 * np.eye(N_ITEMS - 1)
        want = np.linalg.solve(g, gram[others, j])
        np.testing.assert_allclose(b[others, j], want, rtol=1e-4, atol=1e-6)
