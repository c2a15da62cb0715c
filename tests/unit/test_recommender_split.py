"""The temporal split and the evaluation on it: honest protocol (no leakage), groups, reports.

A small shop: 20 red customers in GB buy red lanterns, 20 blue customers in DE buy blue pots,
every other week from January to April 2011; eight customers first buy after the split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import report
from recommender.evaluate import run
from recommender.lineup import MODEL_NAMES, make_model
from recommender.split import default_split_date, make_split, validation_date
from recommender.train import train

SPLIT = "2011-04-01"


def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    products = pd.DataFrame(
        {
            "id": [f"p{i:02d}" for i in range(12)],
            "title": [f"RED HEART LANTERN {i}" for i in range(6)]
            + [f"BLUE GARDEN POT {i}" for i in range(6, 12)],
            "category": ["lights"] * 6 + ["garden"] * 6,
        }
    )
    rows = []
    for c in range(48):
        red = c % 2 == 0
        start = pd.Timestamp("2011-04-04") if c >= 40 else pd.Timestamp("2011-01-03")
        day = start + pd.Timedelta(days=int(c % 7))
        k = 0
        while day < pd.Timestamp("2011-04-29"):
            k += 1
            items = rng.choice(range(0, 6) if red else range(6, 12), size=2, replace=False)
            for i in items:
                rows.append(
                    {
                        "invoice": f"{c}-{k}",
                        "product_id": f"p{i:02d}",
                        "customer_id": f"c{c:02d}",
                        "quantity": 2,
                        "price": 1.5 if red else 6.0,
                        "ts": day + pd.Timedelta(hours=10),
                        "country": "GB" if red else "DE",
                    }
                )
            day += pd.Timedelta(days=14)
    rows.append(  # a guest order: popularity only
        {
            "invoice": "g1",
            "product_id": "p03",
            "customer_id": None,
            "quantity": 1,
            "price": 1.5,
            "ts": pd.Timestamp("2011-02-01"),
            "country": "GB",
        }
    )
    return pd.DataFrame(rows), products


def future_changed(lines: pd.DataFrame, products: pd.DataFrame):
    """The same past, a very different future: a new best seller with new words, everyone
    buying p00 at another price, a newcomer from France."""
    after = pd.Timestamp(SPLIT) + pd.Timedelta(days=3)
    extra = [
        {
            "invoice": f"f{c}",
            "product_id": pid,
            "customer_id": f"c{c:02d}",
            "quantity": 50,
            "price": 99.0,
            "ts": after,
            "country": "FR",
        }
        for c in range(0, 48)
        for pid in ("p99", "p00")
    ]
    extra.append({**extra[0], "customer_id": "c77", "invoice": "f77"})
    more = pd.concat([lines, pd.DataFrame(extra)], ignore_index=True)
    prods = pd.concat(
        [products, pd.DataFrame([{"id": "p99", "title": "PURPLE UNICORN", "category": "toys"}])]
    )
    return more, prods


def test_default_split_is_the_last_tenth_snapped_to_a_month():
    bundled = pd.Series(pd.to_datetime(["2010-12-01 08:26", "2011-12-09 12:50"]))
    assert default_split_date(bundled) == pd.Timestamp("2011-11-01")
    short = pd.Series(pd.to_datetime(["2011-01-01", "2011-04-11"]))  # 100 days: Apr 1 (+0)
    assert default_split_date(short) == pd.Timestamp("2011-04-01")
    odd = pd.Series(pd.to_datetime(["2011-01-20", "2011-05-10"]))  # 90% is Apr 29
    assert default_split_date(odd) == pd.Timestamp("2011-04-29")
    val = validation_date(bundled, pd.Timestamp("2011-11-01"), pd.Timestamp("2011-12-09"))
    assert pd.Timestamp("2011-09-20") <= val < pd.Timestamp("2011-11-01")


def test_groups_and_truths():
    lines, products = shop()
    s = make_split(lines, products, SPLIT)
    assert (s.train_lines["ts"] < pd.Timestamp(SPLIT)).all()
    assert len(s.groups["returning"]) == 40 and len(s.groups["new"]) == 8
    assert len(s.groups["new_session"]) == 8  # each newcomer came back
    r = s.groups["returning"]
    # truth = what they bought on or after the split
    c = r.customer_ids[0]
    bought = set(lines[(lines.customer_id == c) & (lines.ts >= SPLIT)].product_id)
    assert {s.data.item_ids[i] for i in r.truths[0]} == bought
    ns = s.groups["new_session"]
    assert ns.user_items.nnz > 0 and all(ns.sessions)
    assert ns.countries[0] in ("GB", "DE")
    assert s.products.loc[0, "band"] == "budget"  # from prices before the split


def test_nothing_from_after_the_split_leaks():
    lines, products = shop()
    a = make_split(lines, products, SPLIT)
    b = make_split(*future_changed(lines, products), SPLIT)
    pd.testing.assert_frame_equal(a.train_lines, b.train_lines)
    np.testing.assert_array_equal(a.data.item_ids, b.data.item_ids)  # no p99
    np.testing.assert_array_equal(a.data.user_ids, b.data.user_ids)
    assert (a.data.matrix != b.data.matrix).nnz == 0
    assert (a.side.last_days != b.side.last_days).nnz == 0
    assert (a.side.item_features != b.side.item_features).nnz == 0
    assert (a.side.user_features != b.side.user_features).nnz == 0
    assert a.side.item_feature_names == b.side.item_feature_names  # no "word:unicorn"
    assert a.side.user_feature_names == b.side.user_feature_names  # no "country:FR"
    pd.testing.assert_frame_equal(a.products, b.products)  # prices from before the split
    np.testing.assert_array_equal(a.information, b.information)
    # the models, fed the same past, answer the same for the same customers
    g_a, g_b = a.groups["returning"], b.groups["returning"]
    for name in ("popularity", "popularity_country", "popularity_recent", "item_knn", "als"):
        sa = make_model(name).fit(a.data.matrix, a.side).scores(g_a.userids, g_a.user_items)
        sb = make_model(name).fit(b.data.matrix, b.side).scores(g_b.userids, g_b.user_items)
        np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-6, err_msg=name)
    # ... while the future they are tested on did change
    assert a.groups["returning"].truths != b.groups["returning"].truths


def test_the_served_model_is_trained_on_the_past_only(tmp_path):
    lines, products = shop()
    a = make_split(lines, products, SPLIT)
    b = make_split(*future_changed(lines, products), SPLIT)
    ra = train(a.train_lines, a.data.item_ids, tmp_path / "a", publish=False)
    rb = train(b.train_lines, b.data.item_ids, tmp_path / "b", publish=False)
    pa = (tmp_path / "a" / ra.version / "popularity.json").read_text()
    pb = (tmp_path / "b" / rb.version / "popularity.json").read_text()
    assert pa == pb and "p99" not in pa


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from storefront.cli.train import served_replay
    from storefront.config import load_settings

    lines, products = shop()
    settings = load_settings(overrides={"home": tmp_path_factory.mktemp("home")})
    return run(lines, products, SPLIT, MODEL_NAMES, served=served_replay(settings))


def test_evaluation_covers_every_model_group_and_the_served_rail(result):
    assert set(result["models"]) == set(MODEL_NAMES)
    assert set(result["served"]) == {"for_you", "blend", "als_plain", "buy_again"}
    for entry in [*result["models"].values(), *result["served"].values()]:
        protocols = [entry["groups"]] + ([entry["new_only"]] if "new_only" in entry else [])
        for groups in protocols:
            assert set(groups) == {"all", "returning", "new", "new_session"}
            for m in groups.values():
                assert m["users"] > 0
                for k in ("ndcg@10", "recall@20", "map@10", "coverage@10"):
                    assert 0.0 <= m[k] <= 1.0
    # both protocols for every model and served variant; buy again only for all purchases
    assert all("new_only" in e for e in result["models"].values())
    assert {k for k, e in result["served"].items() if "new_only" not in e} == {"buy_again"}
    assert result["split_date"] == SPLIT
    assert result["counts"]["customers_returning"] == 40
    # tastes are clear here: the personal rail beats the same list for everyone
    served = result["served"]["for_you"]["groups"]["returning"]["ndcg@10"]
    assert served > result["models"]["popularity"]["groups"]["returning"]["ndcg@10"]
    # the served rail beside the baselines, per group and protocol, and the targets
    row = result["comparison"]["groups"]["returning"]
    assert {"served", "popularity", "buy_again", "best_bare", "ease"} <= set(row)
    assert row["ease"] == result["models"]["ease"]["groups"]["returning"]["ndcg@10"]
    assert "buy_again" not in result["comparison"]["new_only"]["returning"]
    assert "for_you >= 1.1x buy_again (returning, all purchases)" in result["targets"]
    assert "for_you >= 1.0x ease (returning, new products only)" in result["targets"]


def test_report_is_markdown_with_plots_and_json(result, tmp_path):
    path = report.write(result, tmp_path / "r", "storefront evaluate")
    text = path.read_text()
    assert "| served: for-you rail |" in text and "![ndcg_by_group.png]" in text
    for name in ("ndcg_by_group.png", "metrics_all.png", "ndcg_vs_coverage.png"):
        assert (tmp_path / "r" / name).read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "r" / "results.json").is_file()
    assert "popularity" in report.table(result, "new")
    assert "## All customers who bought after the split: new products only" in text
    assert "popularity" in report.table(result, "returning", protocol="new_only")


def test_tune_searches_on_validation_and_never_loses_to_the_start():
    from recommender.tune import BLENDS_PER_FIT, tune

    lines, products = shop()
    out = tune(lines, products, budget_seconds=0.5, split_date=SPLIT)
    assert out["trials"] >= BLENDS_PER_FIT
    assert out["validation_split"] < out["test_split"] == SPLIT
    assert out["best_ndcg@10"] >= out["start_ndcg@10"]
    assert set(out["best"]) == {"als", "knn", "blend", "trending_days"}


def test_a_split_with_no_future_is_refused():
    lines, products = shop()
    with pytest.raises(ValueError, match="nothing to test on"):
        make_split(lines, products, "2012-01-01")
