"""Visitors with only a session: training chooses their rail on validation (session_fit.py),
and serving uses that choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.describe import describe
from recommender.evaluate import run
from recommender.lineup import ShopParams
from recommender.models import ALSParams
from recommender.serving import Model
from recommender.session_fit import _better, choose
from recommender.split import Group
from recommender.train import train
from storefront.cli.train import served_replay
from storefront.config import load_settings

ALS = ALSParams(factors=8, iterations=10)
PAIRS = 25


def _pair_store(rebuy: bool = False, spread: bool = False) -> pd.DataFrame:
    """A year of orders. 60 regulars re-order staples s0-s4 every month, and each once bought a
    pair (a_i with b_i) together. After the validation date 40 new customers buy a_i and, in a
    second order a few days later, b_i: what a session-only visitor buys next follows item-item
    co-occurrence, which the regulars' re-order-heavy blend does not weigh. rebuy: the second
    order holds a_i again (a new customer's "buy again"). spread: 100 new customers from
    September on, a new one each day, their second order five days after the first."""
    orders: list[tuple[str, pd.Timestamp, list[str]]] = []
    for c in range(60):
        for m in range(1, 13):
            orders.append(
                (f"old{c}", pd.Timestamp(2011, m, 1 + c % 20), [f"s{c % 5}", f"s{(c + m) % 5}"])
            )
        for extra in range(3):  # each pair co-occurs in several regulars' baskets
            i = (c + extra * 7) % PAIRS
            orders.append(
                (f"old{c}", pd.Timestamp(2011, 2 + extra, 5 + c % 20), [f"a{i}", f"b{i}"])
            )
    for c in range(100 if spread else 40):
        i = c % PAIRS
        if spread:
            first = pd.Timestamp(2011, 9, 1) + pd.Timedelta(days=c)
            second = first + pd.Timedelta(days=5)
        else:
            first, second = pd.Timestamp(2011, 12, 1 + c % 10), pd.Timestamp(2011, 12, 14 + c % 10)
        orders.append((f"new{c}", first, [f"a{i}"]))
        orders.append((f"new{c}", second, [f"a{i}", f"b{i}"] if rebuy else [f"b{i}"]))
    return pd.DataFrame(
        [(f"{cid}-{day:%j}", cid, pid, day, "GB") for cid, day, items in orders for pid in items],
        columns=["invoice", "customer_id", "product_id", "ts", "country"],
    )


def test_item_knn_serves_session_only_visitors_where_it_beats_the_blend(tmp_path):
    lines = _pair_store()
    report = train(lines, sorted(lines["product_id"].unique()), tmp_path, params=ALS)
    model = Model(tmp_path / report.version)
    session = model.fitted["session"]
    assert session["customers"] >= 20
    ndcg = session["all_purchases_ndcg"]
    assert ndcg["item_knn/out"] > ndcg["blend/out"]
    assert session["serve"] == "item_knn" and session["session_products"] == "out"
    assert "item_knn" in session["note"]
    assert any("only a session" in note for note in model.fitted["notes"])
    shown = "\n".join(describe(model.meta))  # what `storefront models show` prints
    assert "Visitors with only a session: serving item_knn" in shown
    # serving: a visitor with only a session gets a_3's co-purchase first
    picks = [p for p, _ in model.recommend_for(None, [("a3", "view")], n=3)]
    assert picks[0] == "b3"
    # a known regular keeps the blend (their own staples lead)
    regular = [p for p, _ in model.recommend_for("old0", (), n=2)]
    assert set(regular) <= {f"s{k}" for k in range(5)}


def test_the_session_leads_the_rail_where_session_only_visitors_buy_it_again(tmp_path):
    lines = _pair_store(rebuy=True)
    report = train(lines, sorted(lines["product_id"].unique()), tmp_path, params=ALS)
    model = Model(tmp_path / report.version)
    session = model.fitted["session"]
    ndcg = session["all_purchases_ndcg"]
    assert session["session_products"] == "first"
    assert ndcg[f"{session['serve']}/first"] > max(ndcg["blend/out"], ndcg["item_knn/out"])
    picks = [p for p, _ in model.recommend_for(None, [("a3", "view")], n=3)]
    assert picks[:2] == ["a3", "b3"]


def test_the_served_rail_beats_the_bare_models_for_session_only_visitors():
    """Through the for_you strategy, as `storefront evaluate` replays it: a model trained before
    the split chose its rail for session-only visitors on its own validation split (here:
    their session's products first, as they buy them again)."""
    lines = _pair_store(rebuy=True, spread=True).assign(quantity=1, price=1.0)
    products = pd.DataFrame({"id": sorted(lines["product_id"].unique())})
    products = products.assign(title=products["id"], category=products["id"].str[0])
    shop = ShopParams(als=ALS)
    served = served_replay(load_settings())  # the shop's replay, handed to the library
    result = run(lines, products, "2011-11-20", ("popularity", "item_knn"), shop, served)
    for protocol in ("groups", "new_only"):
        row = result["comparison"][protocol]["new_session"]
        assert row["customers"] >= 20
        assert row["served"] >= row["best_bare_ndcg@10"] > row["popularity"], (protocol, row)


def test_the_blend_stays_where_it_beats_every_single_candidate():
    """Two products per visitor: ALS taste alone ranks one, neighbours alone the other; the
    truth is both, which only their sum (the blend's weights) puts in the top of the rail."""
    n, items = 30, 40
    rng = np.random.default_rng(0)
    als = rng.random((n, items)).astype(np.float32) * 0.5
    knn = rng.random((n, items)).astype(np.float32) * 0.5
    truths = []
    for k in range(n):
        x, y = 2 * k % items, (2 * k + 1) % items
        als[k, x], knn[k, x] = 0.9, 0.6  # near the top of both: first in the sum
        als[k, y], knn[k, y] = 0.6, 0.9
        als[k, (x + 7) % items], knn[k, (y + 9) % items] = 1.0, 1.0  # each one's own top
        truths.append(frozenset({x, y}))
    feats = {
        "als": als,
        "knn_new": knn,
        "ease": np.zeros_like(als),
        "popularity": np.broadcast_to(np.linspace(0, 1, items, dtype=np.float32), als.shape),
    }
    session = sp.csr_matrix((n, items), dtype=np.float32)
    group = Group("new_session", [f"c{k}" for k in range(n)], [None] * n,
                  np.full(n, -1), session, session, truths)  # fmt: skip
    blend = {"als": 1.0, "knn_new": 1.0}
    out = choose(group, feats, blend, blend)
    assert (
        out["serve"] == "blend" and out["serve_new"] == "blend" and out["session_products"] == "out"
    )
    assert out["all_purchases_ndcg"]["blend/out"] > max(
        v for k, v in out["all_purchases_ndcg"].items() if not k.startswith("blend")
    )
    assert "the blend stays" in out["note"]


def test_a_gain_within_the_noise_of_a_few_visitors_keeps_todays_rail():
    today = np.full(40, 0.5)
    noisy = today + np.r_[np.full(20, 0.3), np.full(20, -0.28)]  # +0.01 on average
    assert _better({"blend": today, "als": noisy}, "blend")[0] is None
    clear = today + np.r_[np.full(20, 0.3), np.full(20, 0.1)]
    assert _better({"blend": today, "als": clear}, "blend")[0] == "als"
