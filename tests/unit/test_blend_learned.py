"""The learned for-you blend: each customer's repeat share, and the new-products-only protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.blend import FEATURES, Shopper, due_scores, features, fit_weights, learned
from recommender.evaluate import new_truths, score_groups
from recommender.repurchase import PRIOR_LINES, Owned, due_score, repeat_shares
from recommender.split import Group


def _orders(customer: str, baskets: list[list[str]], start: str = "2011-01-03") -> list[dict]:
    """One order a week, each a basket of product ids."""
    day = pd.Timestamp(start)
    return [
        {
            "invoice": f"{customer}-{k}",
            "customer_id": customer,
            "product_id": pid,
            "ts": day + pd.Timedelta(weeks=k),
        }
        for k, basket in enumerate(baskets)
        for pid in basket
    ]


def _history() -> pd.DataFrame:
    rows = []
    rows += _orders("reorderer", [["a", "b", "c"]] * 8)  # the same basket every week
    rows += _orders("explorer", [[f"x{k}{j}" for j in range(3)] for k in range(8)])  # all new
    rows += _orders("once", [["a", "b", "c", "d", "e"]])  # one order: no evidence either way
    rows += _orders("twice", [["a", "b"], ["a", "b"]])  # two lines of evidence, both re-orders
    return pd.DataFrame(rows)


def test_a_customer_who_only_reorders_gets_a_higher_share_than_one_who_never_does():
    users = np.array(["explorer", "once", "reorderer", "twice"])
    shares, orders, mean = repeat_shares(_history(), users)
    share = dict(zip(users, shares.tolist(), strict=True))
    assert share["reorderer"] > mean > share["explorer"]
    # 21 later lines, all re-orders, against 20 lines of the shop's mean: well above it
    assert share["reorderer"] == np.float32((21 + PRIOR_LINES * mean) / (21 + PRIOR_LINES))
    assert share["explorer"] == np.float32(PRIOR_LINES * mean / (21 + PRIOR_LINES))
    assert orders.tolist() == [8, 1, 8, 2]


def test_one_order_is_no_evidence_and_a_few_lines_move_the_share_only_a_little():
    users = np.array(["explorer", "once", "reorderer", "twice", "stranger"])
    shares, _, mean = repeat_shares(_history(), users)
    share = dict(zip(users, shares.tolist(), strict=True))
    assert share["once"] == np.float32(mean)  # its first order's lines cannot be re-orders
    assert share["stranger"] == np.float32(mean)  # not in the history at all
    # two re-ordered lines: above the mean, but far below the weekly re-orderer's
    assert mean < share["twice"] < share["reorderer"]
    unshrunk, _, _ = repeat_shares(_history(), users, prior_lines=0.0)
    assert unshrunk[users.tolist().index("twice")] == 1.0


def test_the_blend_ranks_own_products_higher_for_a_customer_who_reorders():
    # the same two products for two customers: one they bought before, one they never did
    orders = np.array([[3.0, 0.0], [3.0, 0.0]])
    age = np.array([[30.0, 0.0], [30.0, 0.0]])
    span = np.array([[60.0, 0.0], [60.0, 0.0]])
    shopper = Shopper(orders, age, span, np.array([[6.0], [6.0]]), np.array([[0.9], [0.1]]), 30.0)
    als = np.array([[0.2, 1.0], [0.2, 1.0]])
    knn = np.zeros_like(als)
    flat = np.zeros(2)
    feats = features(als, knn, shopper, flat, flat)
    scores = learned(feats, {"repeat": 2.0, "owned": 0.2, "als_new": 1.0})
    assert scores[0, 0] > scores[0, 1]  # the re-orderer: their own product first
    assert scores[1, 0] < scores[1, 1]  # the explorer: the new one first
    assert feats["repeat"][:, 1].tolist() == [0.0, 0.0]  # never bought: no own features


def test_due_scores_agree_with_buy_again():
    owned = [
        Owned("p", 6, 29, 150),
        Owned("p", 6, 5, 150),
        Owned("p", 1, 10, 0),
        Owned("p", 4, 400, 90),
    ]
    got = due_scores(
        np.array([o.orders for o in owned]),
        np.array([o.age_days for o in owned]),
        np.array([o.span_days for o in owned]),
    )
    np.testing.assert_allclose(got, [due_score(o) for o in owned], rtol=1e-5)
    assert due_scores(np.zeros(1), np.zeros(1), np.zeros(1)).tolist() == [0.0]


def test_fitted_weights_learn_which_feature_predicts_a_purchase():
    rng = np.random.default_rng(0)
    x = rng.random((4000, len(FEATURES)))
    signal = FEATURES.index("repeat")
    y = rng.random(4000) < 1 / (1 + np.exp(-(6 * x[:, signal] - 3)))
    w = fit_weights(x, y)
    assert w["repeat"] > 4 and all(abs(v) < 1 for k, v in w.items() if k != "repeat")


def _group(owned: list[list[int]], truths: list[set[int]]) -> Group:
    indptr = np.cumsum([0] + [len(o) for o in owned])
    indices = [i for o in owned for i in o]
    m = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(owned), 6)
    )
    n = len(owned)
    return Group(
        "returning",
        [f"c{k}" for k in range(n)],
        [None] * n,
        np.arange(n),
        m,
        sp.csr_matrix((n, 1)),
        [frozenset(t) for t in truths],
    )


class _Split:
    """Just what score_groups reads from a split."""

    def __init__(self, group: Group):
        self.groups = {"returning": group}
        self.n_items = 6
        self.information = np.ones(6)


def test_new_only_leaves_owned_products_out_of_the_truth():
    g = _group([[0, 1], [2]], [{0, 3}, {2}])
    assert new_truths(g) == [frozenset({3}), frozenset()]
    # a list that ranks the owned product 0 first: a hit for all purchases, nothing new only
    row = np.array([0, 3, -1, -1, -1, -1, -1, -1, -1, -1], dtype=np.int32)
    lists = {"returning": ([row, row], [row, row])}
    every = score_groups(_Split(g), lists)["returning"]["ndcg@10"]
    fresh = score_groups(_Split(g), lists, new_only=True)["returning"]["ndcg@10"]
    # all purchases: customer 0 has both in the top 2 (1.0), customer 1 nothing (0.0)
    assert every == 0.5
    # new only: customer 0's one new purchase at rank 2; customer 1 bought nothing new
    assert fresh == (1 / np.log2(3)) / 2


def test_new_only_leaves_owned_products_out_of_every_models_ranking():
    from recommender.evaluate import model_lists
    from recommender.popularity import PopularityRecommender

    g = _group([[0, 1], [2]], [{0, 3}, {2}])
    buyers = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 1, 0]], dtype=np.float32))
    model = PopularityRecommender("overall").fit(buyers)
    split = _Split(g)
    split.groups["returning"] = g
    every = model_lists(model, split)["returning"][1]
    fresh = model_lists(model, split, new_only=True)["returning"][1]
    assert {0, 1} <= set(every[0].tolist()) and 2 in every[1].tolist()
    assert not {0, 1} & set(fresh[0].tolist()) and 2 not in fresh[1].tolist()


def test_learned_takes_its_shape_from_any_feature_or_the_size_given():
    """Serving computes only the features a blend weighs: a blend that does not weigh ALS (a
    store whose validation chose EASE and popularity) has no "als" feature to shape by."""
    feats = {"ease": np.array([0.5, 0.0, 1.0], dtype=np.float32)}
    scores = learned(feats, {"ease": 2.0, "als": 1.0})  # a weighed name that is absent: nothing
    assert scores.tolist() == [1.0, 0.0, 2.0]
    assert learned({}, {"als": 0.0}, size=4).tolist() == [0.0] * 4  # nothing weighed at all
    assert learned(feats, {"ease": 1.0}, size=3).tolist() == [0.5, 0.0, 1.0]
    with pytest.raises(ValueError, match="no features and no size"):
        learned({}, {"ease": 1.0})
