"""What the "for you" rail serves (serving.Model.recommend_for) and retraining from events."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.blend import FEATURES, NEW_FEATURES, BlendParams
from recommender.event_log import VISITOR_PREFIX, WEIGHTS, devices, interactions
from recommender.models import ALSParams
from recommender.serving import Model, memory_mapped
from recommender.train import train

RED, BLUE = range(0, 6), range(6, 12)
CATALOG = [f"p{i:02d}" for i in range(14)]
# Weights given, not fitted (the store is far too small to fit on): these tests are about how a
# version serves its learned blend, whatever the weights; tests/unit/test_fit.py fits them.
LEARNED = BlendParams(
    weights={f: 1.0 for f in FEATURES}, new_weights={f: 1.0 for f in NEW_FEATURES}
)


def _lines() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    inv = 0
    for user in range(40):
        items = list(rng.choice(list(RED if user < 20 else BLUE), size=3, replace=False))
        if user == 0:
            items += [5, 5, 5, 5]  # c0 re-orders p05 again and again
        for item in items:
            inv += 1
            rows.append(
                {
                    "invoice": f"i{inv}",
                    "customer_id": f"c{user}",
                    "product_id": f"p{int(item):02d}",
                    "ts": pd.Timestamp("2011-11-01") + pd.Timedelta(days=int(inv % 28)),
                    "country": "GB" if user % 2 else "DE",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Model:
    root = tmp_path_factory.mktemp("models")
    params = ALSParams(factors=2, iterations=20)
    report = train(_lines(), CATALOG, root, params=params, blend=LEARNED, fit=False)
    return Model(root / report.version)


def test_the_blend_serves_a_customers_own_reorders_first(model):
    recs = [pid for pid, _ in model.recommend_for("c0", (), 4)]
    assert recs[0] == "p05"
    assert all(int(p[1:]) in RED for p in recs), recs
    assert memory_mapped(model.knn_ids) and memory_mapped(model.ui_age)


def test_the_blend_folds_in_a_strangers_session_and_honours_exclusions(model):
    assert model.recommend_for(None, ()) == []  # nothing to go on: the rail falls back
    session = [("p07", "view"), ("p08", "add_to_cart")]
    recs = [p for p, _ in model.recommend_for(None, session, 3, exclude={"p07", "p08"})]
    assert recs and all(int(p[1:]) in BLUE for p in recs), recs
    assert not {"p07", "p08"} & set(recs)


def test_a_version_from_before_the_blend_still_serves_plain_als(model, tmp_path):
    old = tmp_path / model.version
    old.mkdir()
    for f in model.path.iterdir():
        if f.name not in ("knn_ids.npy", "knn_scores.npy", "ui_age.npy"):
            (old / f.name).write_bytes(f.read_bytes())
    meta = json.loads((old / "meta.json").read_text())
    del meta["blend"]
    (old / "meta.json").write_text(json.dumps(meta))
    legacy = Model(old)
    assert legacy.knn_ids is None
    vec = legacy.user_vector("c3")
    assert legacy.recommend_for("c3", (), 5) == legacy.recommend_vector(vec, 5)


def test_the_registry_records_parameters_window_and_metrics(model):
    meta = model.meta
    assert meta["blend"] == model.blend.as_dict() and meta["knn"]["similarity"] == "bm25"
    assert meta["window"]["start"].startswith("2011-11-01")
    assert meta["metrics"] == {} and meta["source"] == "orders"
    assert {"implicit", "numpy", "rectools-lightfm"} <= set(meta["libraries"])


def _events() -> pd.DataFrame:
    ts = pd.Timestamp("2011-12-01 10:00")
    rows = [
        ("v1", "view", "p07"),
        ("v1", "view", "p07"),
        ("v1", "add_to_cart", "p07"),
        ("v1", "add_to_cart", "p08"),
        ("v1", "remove_from_cart", "p08"),  # cancels the add
        ("v1", "impression", "p09"),  # seen is not an interaction
        ("v1", "search", None),
        ("v2", "purchase", "p01"),
        ("v2", "click", "p02"),
    ]
    return pd.DataFrame(
        [
            {"visitor": v, "type": t, "product_id": p, "ts": ts, "device": "mobile"}
            for v, t, p in rows
        ]
    )


def test_event_weights_and_identity_stitching():
    ids = pd.DataFrame({"visitor": ["v2"], "customer_id": ["c3"]})
    pairs = interactions(_events(), ids).set_index(["customer_id", "product_id"])["weight"]
    assert pairs[(VISITOR_PREFIX + "v1", "p07")] == pytest.approx(
        2 * WEIGHTS["view"] + WEIGHTS["add_to_cart"]
    )
    assert (VISITOR_PREFIX + "v1", "p08") not in pairs.index  # added then removed
    assert (VISITOR_PREFIX + "v1", "p09") not in pairs.index
    assert pairs[("c3", "p01")] == WEIGHTS["purchase"]  # signed in: their customer id
    assert pairs[("c3", "p02")] == WEIGHTS["click"]
    assert devices(_events(), ids).to_dict() == {"c3": "mobile", VISITOR_PREFIX + "v1": "mobile"}
    assert interactions(_events().iloc[0:0]).empty


def test_retraining_from_the_event_log(tmp_path):
    extra = interactions(_events(), pd.DataFrame({"visitor": ["v2"], "customer_id": ["c3"]}))
    report = train(
        _lines(),
        CATALOG,
        tmp_path,
        params=ALSParams(factors=2, iterations=5),
        extra=extra,
        source="orders+events",
    )
    m = Model(tmp_path / report.version)
    assert m.knows_user(VISITOR_PREFIX + "v1")  # an anonymous shopper became a user
    assert "p07" in m.history(VISITOR_PREFIX + "v1")
    assert "p01" in m.history("c3")  # the event purchase joined c3's orders
    assert m.meta["counts"]["event_pairs"] == len(extra) and m.meta["source"] == "orders+events"
    assert m.meta["window"]["end"].startswith("2011-12-01")  # the events extend the window


def test_new_only_never_serves_what_the_customer_ordered(model):
    owned = set(model.history("c0"))
    assert "p05" in owned
    every = [p for p, _ in model.recommend_for("c0", (), 10)]
    fresh = [p for p, _ in model.recommend_for("c0", (), 10, new_only=True)]
    assert owned & set(every)  # all purchases: their re-orders lead
    assert fresh and not owned & set(fresh)


def test_the_learned_blend_reads_each_customers_repeat_share_from_the_version(model):
    assert memory_mapped(model.user_repeat) and model.blend.weights
    share = dict(zip(model.user_ids.tolist(), model.user_repeat.tolist(), strict=True))
    assert share["c0"] > share["c1"]  # c0 re-orders p05 again and again; c1 never re-orders


@pytest.mark.parametrize("indexed", [False, True], ids=["scan", "taste-index"])
def test_a_big_catalog_scores_candidates_with_the_same_scores(
    model, monkeypatch, tmp_path, indexed
):
    """Above CANDIDATES_ABOVE products the blend scores candidates only (serving.py); forced
    here on the small model, each product it returns has exactly the score the full blend
    gives it, and the rules (own re-orders, new only, exclusions) still hold. With a taste
    index (taste_index.py, what training writes for a big catalog) ALS is scored at the
    candidates only, and the scores are still the same."""
    import shutil

    import recommender.serving as serving
    from recommender.taste_index import TasteIndex

    path = tmp_path / "version"
    shutil.copytree(model.path, path)
    if indexed:
        TasteIndex.build(model.item_factors).save(path)

    full_scores = {  # every product scored (the catalog is below the limit)
        (c, new): dict(model.recommend_for(c, (), len(model.item_ids), new_only=new))
        for c in ("c0", "c5", "c30")
        for new in (False, True)
    }
    monkeypatch.setattr(serving, "CANDIDATES_ABOVE", 0)
    monkeypatch.setattr(serving, "CANDIDATE_TOP", 3)
    small = Model(path)
    assert (small.taste is not None) == indexed
    for (customer, new_only), full in full_scores.items():
        picked = small.recommend_for(customer, (), 4, new_only=new_only)
        assert picked
        for pid, score in picked:
            assert score == pytest.approx(full[pid], abs=1e-5), (customer, pid)
    assert small.recommend_for("c0", (), 4)[0][0] == "p05"
    assert "p05" not in dict(small.recommend_for("c0", (), 4, new_only=True))
    assert "p05" not in dict(small.recommend_for("c0", (), 4, exclude={"p05"}))


def test_largest_finds_exactly_the_top_k_of_a_big_array():
    from recommender.serving import largest

    rng = np.random.default_rng(4)
    for scores in (
        rng.normal(size=400_000).astype(np.float32),
        np.exp(3 * rng.normal(size=400_000)).astype(np.float32),  # a long tail
        np.r_[np.zeros(399_000), rng.random(1_000) + 1].astype(np.float32),  # few stand out
        np.sort(rng.normal(size=400_000)).astype(np.float32),  # the top all at one end
    ):
        for k in (1, 10, 500):
            got = np.sort(scores[largest(scores, k)])
            want = np.sort(scores)[-k:]
            assert len(set(largest(scores, k).tolist())) == k
            np.testing.assert_array_equal(got, want)


def test_training_a_big_catalog_writes_the_taste_index_that_serving_loads(tmp_path, monkeypatch):
    """Above CANDIDATES_ABOVE products training writes the taste index (forced here on the
    small catalog) and the version serves from it with the scores of the full blend."""
    import recommender.serving as serving
    import recommender.train as training

    als = ALSParams(factors=2, iterations=20)
    small = train(_lines(), CATALOG, tmp_path / "plain", params=als, blend=LEARNED, fit=False)
    monkeypatch.setattr(training, "CANDIDATES_ABOVE", 0)
    report = train(_lines(), CATALOG, tmp_path / "big", params=als, blend=LEARNED, fit=False)
    path = tmp_path / "big" / report.version
    assert all((path / f"{name}.npy").is_file() for name in ("taste_rows", "taste_factors"))
    assert Model(tmp_path / "plain" / small.version).taste is None
    full = dict(Model(path).recommend_for("c0", (), len(CATALOG)))
    monkeypatch.setattr(serving, "CANDIDATES_ABOVE", 0)
    indexed = Model(path)
    assert memory_mapped(indexed.taste.factors)
    for pid, score in indexed.recommend_for("c0", (), 4):
        assert score == pytest.approx(full[pid], abs=1e-5)


def test_the_taste_index_finds_the_exact_top_k_and_the_largest_magnitude_reading_less():
    """taste_index.py: longest factors first, stop when no shorter one can beat the k-th
    best. Long-tailed lengths, as implicit feedback gives them."""
    from recommender.taste_index import TasteIndex

    rng = np.random.default_rng(3)
    lengths = np.exp(2.5 * rng.normal(size=60_000))
    factors = rng.normal(size=(60_000, 16)) * (lengths / 4)[:, None]
    factors[:50] = 0.0  # never bought: left out, they score 0 for everyone
    factors = factors.astype(np.float32)
    index = TasteIndex.build(factors)
    assert len(index.rows) == 60_000 - 50 and np.all(np.diff(index.norms) <= 0)
    read = []
    for _ in range(20):
        vector = rng.normal(size=16).astype(np.float32)
        scores = factors @ vector
        for k in (1, 50, 500):
            rows, scored = index.top(vector, k)
            want = set(np.argsort(-scores)[:k].tolist())
            assert want <= set(rows.tolist()) and len(rows) <= k + 1
            assert np.abs(scores[rows]).max() == pytest.approx(np.abs(scores).max())
            read.append(scored)
    assert np.median(read) < 30_000  # the point: most of the tail is never read


def _sessions(model: Model) -> list[list[tuple[str, str]]]:
    rng = np.random.default_rng(3)
    ids = [*model.item_ids.tolist(), "unknown"]
    signals = list(WEIGHTS)
    return [
        [(ids[int(rng.integers(len(ids)))], signals[int(rng.integers(len(signals)))])]
        * int(rng.integers(1, 3))
        + [(ids[int(rng.integers(len(ids)))], "view") for _ in range(int(rng.integers(0, 4)))]
        for _ in range(6)
    ]


def test_the_served_arrays_are_exactly_what_the_plain_loops_give(model):
    """user_vector, the learned blend's features (only the weighed ones, own ones at the
    shopper's products), history and owned: bit for bit what a dict of weights and every
    feature over every product give."""
    from recommender.dataset import confidence
    from recommender.models import fold_in
    from recommender.serving import session_orders
    from recommender.signals import SESSION_EMPHASIS

    def vector(u, session):
        weights = {}
        if u is not None:
            lo, hi = model.ui_indptr[u], model.ui_indptr[u + 1]
            for col, conf in zip(model.ui_indices[lo:hi], model.ui_data[lo:hi], strict=True):
                weights[int(col)] = float(conf)
        for i, orders in session_orders(session, model._item_index).items():
            boost = float(confidence(np.array([orders]))[0]) * SESSION_EMPHASIS
            weights[i] = weights.get(i, 0.0) + boost
        items = np.fromiter(weights.keys(), dtype=np.int64)
        confs = np.fromiter(weights.values(), dtype=np.float64)
        reg, alpha = float(model.params["regularization"]), float(model.params["alpha"])
        return fold_in(model.item_factors, model.yty, items, confs, reg, alpha)

    n = len(model.item_ids)
    rng = np.random.default_rng(5)
    weights = {
        name: float(w) for name, w in zip(FEATURES, rng.normal(size=len(FEATURES)), strict=True)
    }
    weights["year"] = 0.0  # a feature weighing nothing is left out
    for customer in [None, *model.user_ids.tolist()]:
        u = model._user_index.get(customer) if customer else None
        for session in _sessions(model):
            got = model.user_vector(customer, session)
            if session_orders(session, model._item_index):
                assert got.tobytes() == vector(u, session).tobytes()
        cols, _ = model._own(customer)
        als, knn = rng.normal(size=n).astype(np.float32), rng.random(n).astype(np.float32)
        some = model._features(u, cols, als, knn, None, None, weights)
        every = model._features(u, cols, als, knn)
        assert set(some) == {name for name, w in weights.items() if w}
        for name, values in some.items():
            assert values.dtype == every[name].dtype
            assert values.tobytes() == every[name].tobytes(), name
        if u is None:
            continue
        lo, hi = int(model.ui_indptr[u]), int(model.ui_indptr[u + 1])
        assert model.history(customer) == [str(model.item_ids[c]) for c in model.ui_indices[lo:hi]]
        plain = [
            (str(model.item_ids[c]), float(o), float(a), float(s))
            for c, o, a, s in zip(
                model.ui_indices[lo:hi],
                model.ui_orders[lo:hi],
                model.ui_age[lo:hi],
                model.ui_span[lo:hi],
                strict=True,
            )
            if o >= 1
        ]
        owned = model.owned(customer)
        assert [(o.product_id, o.orders, o.age_days, o.span_days) for o in owned] == plain
        assert all(type(o.product_id) is str and type(o.orders) is float for o in owned)


@pytest.mark.parametrize("candidates_only", [False, True])
def test_a_blend_that_does_not_weigh_als_serves_the_weighed_features_ranking(
    tmp_path, monkeypatch, candidates_only
):
    """A store whose fitted blend leaves ALS out (the generated grocery store's: EASE and
    popularity) must still serve its rail: the scores are the weighted sum of the weighed
    features only, on the exhaustive path and on the candidates-only path of big catalogs."""
    import recommender.serving as serving
    from recommender.blend import learned

    weights = {"knn": 1.0, "popularity": 0.5, "owned": 0.8, "recent": 0.3}
    params = ALSParams(factors=2, iterations=20)
    blend = BlendParams(weights=weights, new_weights={"knn": 1.0, "popularity": 0.5})
    report = train(_lines(), CATALOG, tmp_path, params=params, blend=blend, fit=False)
    model = Model(tmp_path / report.version)
    if candidates_only:
        monkeypatch.setattr(serving, "CANDIDATES_ABOVE", 0)
    visits = (("c0", ()), ("c25", (("p07", "view"),)), (None, (("p02", "add_to_cart"),)))
    for customer, session in visits:
        got = model.recommend_for(customer, session, 5)
        assert got, customer
        # the reference: every feature over every product, then the same weighted sum
        u = model._user_index.get(customer) if customer else None
        cols, conf = model._own(customer)
        touched, touch_weights = model._touched(cols, conf, session)
        vector = model.user_vector(customer, session)
        als = np.asarray(model.item_factors @ vector)
        knn = serving.neighbour_scores(
            touched, touch_weights, model.knn_ids, model.knn_scores, len(model.item_ids)
        )
        w = model.blend.weights if u is not None else (model.session_weights or weights)
        every = learned(model._features(u, cols, als, knn), w)
        order = [model.item_ids[i] for i in np.argsort(-every, kind="stable")]
        assert [pid for pid, _ in got] == [str(p) for p in order[: len(got)]], customer
        want = {str(model.item_ids[i]): float(every[i]) for i in range(len(every))}
        assert all(abs(score - want[pid]) < 1e-5 for pid, score in got)


def test_a_shoppers_taste_and_blend_are_kept_for_their_next_page_and_never_change(
    model, monkeypatch
):
    """user_vector and recommend_for keep their answers per version (a shopper's next page
    asks the same): the kept answer is the one computed, a caller cannot change it, other
    inputs get their own, and the memo stays within its bound."""
    from recommender import serving

    session = (("p07", "view"), ("p08", "add_to_cart"))
    first = model.user_vector(None, session)
    assert first is model.user_vector(None, list(session))  # kept: the same array
    assert not first.flags.writeable
    with pytest.raises(ValueError):
        first[0] = 1.0
    assert first.tobytes() == model._user_vector(None, session).tobytes()
    assert model.user_vector("c3", session).tobytes() != first.tobytes()

    recs = model.recommend_for("c1", session, 5, {"p09"})
    assert recs == model._recommend_for("c1", session, 5, {"p09"}, False)
    recs.append(("p99", 9.0))  # the caller's own list: the kept answer is untouched
    assert ("p99", 9.0) not in model.recommend_for("c1", session, 5, {"p09"})
    # the exclusions are part of the question, in any iterable form, and so is new_only
    assert model.recommend_for("c1", session, 5, iter(["p09"])) == recs[:-1]
    assert "p09" in {p for p, _ in model.recommend_for("c1", session, 14)}
    assert model.recommend_for("c0", (), 4, new_only=True) == model._recommend_for(
        "c0", (), 4, set(), True
    )

    monkeypatch.setattr(model, "_tastes", serving._Memo(3))
    for i in range(10):
        model.user_vector(None, (("p0" + str(i), "view"),))
    assert len(model._tastes._values) == 3
