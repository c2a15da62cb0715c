"""Per-store fitting (recommender/fit.py): `storefront train` learns the blend, the guard, the
first-visit list and the shares on the store's own data, and stores them with the version."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.blend import CANDIDATES, BlendParams
from recommender.fit import fit_store, guard
from recommender.knn import KNNParams
from recommender.models import ALSParams
from recommender.serving import Model
from recommender.train import train
from tests.stores.grocery import write_store

ALS = ALSParams(factors=8, iterations=10)


def grocery_lines(out, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The grocery test store as order lines and a catalog (read directly: unix seconds)."""
    paths = write_store(out, **kwargs)
    o = pd.read_csv(paths["orders"])
    lines = pd.DataFrame(
        {
            "invoice": o["order_id"].astype(str),
            "product_id": o["sku"].astype(str),
            "customer_id": [None if pd.isna(c) else str(int(c)) for c in o["customer"]],
            "quantity": o["qty"],
            "price": o["unit_price"],
            "ts": pd.to_datetime(o["created"], unit="s"),
            "country": o["country_code"],
        }
    )
    return lines, pd.read_csv(paths["products"])[["id", "title", "category"]]


def _first_visit_store(fad_wins: bool) -> pd.DataFrame:
    """A year of orders: 60 customers buy staples s0-s9 from January to October, 10 buy a fad
    (f0, f1) in November; 30 new customers after the validation date (2011-11-24) buy the
    staples, or the fad where fad_wins."""
    rows = []

    def order(cid: str, day: pd.Timestamp, items: list[str], country: str = "GB") -> None:
        for pid in items:
            rows.append(
                {
                    "invoice": f"{cid}-{day:%j}",
                    "customer_id": cid,
                    "product_id": pid,
                    "ts": day,
                    "country": country,
                }  # fmt: skip
            )

    for c in range(60):
        for m in range(1, 11):
            order(f"old{c}", pd.Timestamp(2011, m, 1 + c % 20), [f"s{(c + m) % 10}", f"s{c % 10}"])
    for c in range(10):
        order(f"fad{c}", pd.Timestamp(2011, 11, 2 + c), ["f0", "f1"])
    for c in range(30):
        items = ["f0", "f1"] if fad_wins else [f"s{c % 10}", f"s{(c + 3) % 10}"]
        order(f"new{c}", pd.Timestamp(2011, 12, 1 + c % 28), items)
    return pd.DataFrame(rows)


def test_the_first_visit_list_is_chosen_on_each_stores_validation_split():
    """Old code: first-time visitors were hard-wired to the last 30 days' list."""
    steady = fit_store(_first_visit_store(False), None, ALS, KNNParams())
    fad = fit_store(_first_visit_store(True), None, ALS, KNNParams())
    assert steady.first_visit == "overall" and fad.first_visit == "recent"
    scores = steady.validation["first_visit_ndcg@10"]
    assert scores["overall"] > scores["recent"]
    assert fad.validation["first_visit_ndcg@10"]["recent"] > scores["recent"]


def test_a_months_list_without_guest_orders_wins_where_guests_buy_unlike_customers():
    rows = []
    for c in range(40):  # customers: s0-s4 until October, s5-s9 in November
        for m, items in ((3, ["s0", "s1", "s2", "s3", "s4"]), (11, ["s5", "s6", "s7", "s8"])):
            day = pd.Timestamp(2011, m, 1 + c % 20)
            rows += [(f"c{c}-{m}", f"c{c}", p, day) for p in items]
    for g in range(60):  # guests buy a fad in November
        rows += [(f"g{g}", None, p, pd.Timestamp(2011, 11, 1 + g % 20)) for p in ("f0", "f1")]
    for c in range(30):  # new customers after the validation date buy this month's staples
        rows += [(f"n{c}", f"n{c}", f"s{5 + c % 4}", pd.Timestamp(2011, 12, 1 + c % 28))]
    lines = pd.DataFrame(rows, columns=["invoice", "customer_id", "product_id", "ts"])
    lines["country"] = "GB"
    fitted = fit_store(lines, None, ALS, KNNParams())
    assert fitted.first_visit == "recent_customers", fitted.validation


def test_a_version_serves_the_first_visit_list_its_training_chose(tmp_path):
    lines = _first_visit_store(False)
    catalog = sorted(lines["product_id"].unique())
    report = train(lines, catalog, tmp_path, params=ALS)
    model = Model(tmp_path / report.version)
    assert model.first_visit == "overall"
    first = [pid for pid, _ in model.first_visit_list("GB")[:5]]
    assert first == [pid for pid, _ in model.popular("overall")[:5]]
    assert not {"f0", "f1"} & set(first)


@pytest.fixture(scope="module")
def grocery(tmp_path_factory):
    return grocery_lines(tmp_path_factory.mktemp("grocery"), customers=300)


def test_train_fits_the_blend_on_the_stores_own_data_and_stores_it(grocery, tmp_path):
    """The weights, the guard's choice, the shares and the validation figures that chose them
    are in the version's meta.json, and serving reads the weights from there."""
    lines, products = grocery
    report = train(lines, products["id"].tolist(), tmp_path, params=ALS, products=products)
    meta = json.loads((tmp_path / report.version / "meta.json").read_text())
    fitted = meta["fitted"]
    val = fitted["validation"]
    assert val["date"] < meta["window"]["end"] and val["returning_customers"] >= 20
    assert fitted["serve"] in {"blend", *CANDIDATES}
    assert set(val["all_purchases_ndcg@10"]) == {"blend", *CANDIDATES}
    assert fitted["weights"] and meta["blend"]["weights"] == fitted["weights"]
    assert 0 < fitted["repeat_share"] < 1 and 0 <= fitted["explore_share"] <= 1
    model = Model(tmp_path / report.version)
    assert model.blend.weights == fitted["weights"]
    assert model.explore_share == fitted["explore_share"]
    # on this store of re-orderers the served choice beats popularity on validation
    chosen = val["all_purchases_ndcg@10"][fitted["serve"]]
    assert chosen > val["all_purchases_ndcg@10"]["popularity"]


def test_no_weights_fitted_on_the_demo_ship_as_defaults():
    assert BlendParams().weights == {} and BlendParams().new_weights == {}


def test_the_guard_serves_the_best_candidate_where_the_blend_does_not_beat_it():
    assert guard({"blend": 0.31, "buy_again": 0.30, "als": 0.2}) == ("blend", "")
    chosen, note = guard({"blend": 0.29, "buy_again": 0.30, "als": 0.2})
    assert chosen == "buy_again" and "does not beat buy_again" in note
    assert guard({"blend": 0.30, "als": 0.30})[0] == "als"  # a tie is no win


def test_a_store_too_small_to_validate_on_gets_safe_defaults_and_says_so(tmp_path):
    lines = pd.DataFrame(
        {
            "invoice": [f"i{k}" for k in range(12)],
            "customer_id": [f"c{k % 4}" for k in range(12)],
            "product_id": [f"p{k % 5}" for k in range(12)],
            "ts": pd.date_range("2011-01-01", periods=12, freq="7D"),
            "country": "GB",
        }
    )
    report = train(lines, [f"p{k}" for k in range(5)], tmp_path, params=ALS)
    fitted = json.loads((tmp_path / report.version / "meta.json").read_text())["fitted"]
    assert fitted["serve"] == "hand blend" and fitted["weights"] == {}
    assert fitted["first_visit"] == "overall" and fitted["explore_share"] is None
    assert any("safe default" in note for note in fitted["notes"])
    model = Model(tmp_path / report.version)
    assert model.recommend_for("c0", (), 3)  # the hand blend still serves


def test_models_show_prints_the_fitted_numbers_and_their_validation(grocery, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from storefront.cli import main

    lines, products = grocery
    monkeypatch.setenv("STOREFRONT_HOME", str(tmp_path))
    report = train(lines, products["id"].tolist(), tmp_path / "models", params=ALS)
    result = CliRunner().invoke(main, ["models", "show", report.version])
    assert result.exit_code == 0, result.output
    assert "validation NDCG@10: blend" in result.output
    assert "First-time visitors: the" in result.output and "Repeat share" in result.output
    missing = CliRunner().invoke(main, ["models", "show", "nope"])
    assert missing.exit_code == 1 and "no model version 'nope'" in missing.output
    assert np.isfinite(json.loads(CliRunner().invoke(
        main, ["models", "show", report.version, "--json"]).output)["train_seconds"])  # fmt: skip


def test_a_catalog_too_big_for_dense_validation_samples_customers_or_falls_back(
    grocery, monkeypatch
):
    import recommender.fit as fit

    lines, products = grocery
    items = lines["product_id"].nunique()
    monkeypatch.setattr(fit, "MAX_CELLS", 100 * items)
    sampled = fit_store(lines, products, ALS, KNNParams())
    val = sampled.validation
    assert 20 <= val["validated_customers"] < val["returning_customers"] and sampled.weights
    assert any("even sample" in note for note in sampled.notes)
    monkeypatch.setattr(fit, "MAX_CELLS", 10 * items)
    fallback = fit_store(lines, products, ALS, KNNParams())
    assert fallback.weights == {} and fallback.serve == "hand blend"
    assert any("too many to validate" in note for note in fallback.notes)


def test_training_chooses_eases_ridge_on_validation_and_the_version_keeps_that_ease(
    grocery, tmp_path
):
    """The penalty of ease.L2_GRID that ranks validation customers' next new products best is
    fitted, noted, and the version's EASE arrays are EASE at that penalty."""
    from recommender.ease import L2_GRID, ease_neighbours

    lines, products = grocery
    report = train(lines, lines["product_id"].unique(), tmp_path, params=ALS, products=products)
    fitted = json.loads((tmp_path / report.version / "meta.json").read_text())["fitted"]
    figures = fitted["validation"]["ease_l2_ndcg@10"]
    assert set(figures) == {f"{l2:g}" for l2 in L2_GRID}
    assert fitted["ease_l2"] in L2_GRID and figures[f"{fitted['ease_l2']:g}"] == max(
        figures.values()
    )
    assert any(note.startswith("EASE's ridge penalty") for note in fitted["notes"])
    model = Model(tmp_path / report.version)
    lines = lines.assign(ts=pd.to_datetime(lines["ts"]))
    from recommender.dataset import build_interactions

    data = build_interactions(lines, item_ids=np.asarray(sorted(model.item_ids), dtype=str))
    ids, scores = ease_neighbours(data.matrix, KNNParams().neighbours, fitted["ease_l2"])
    np.testing.assert_allclose(np.asarray(model.ease_scores), scores, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(model.ease_ids), ids)
