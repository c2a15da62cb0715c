"""LightFM for the cold (recommender/cold.py): `storefront train` keeps it for products nobody has
bought yet and for first-time visitors only where it wins on the store's validation split, and
a version serves it from .npy arrays with numpy alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from recommender import cold
from recommender.fit import fit_store
from recommender.knn import KNNParams
from recommender.models import ALSParams
from recommender.serving import Model, memory_mapped
from recommender.train import train

ALS = ALSParams(factors=8, iterations=5)


def _catalog() -> pd.DataFrame:
    """Two kinds of product (kitchen by Alpha, garden by Beta), each with ten sellers, five
    that first sell after the validation date and three that never sell; ten gadgets nobody
    ever buys come first in the catalog's own order."""
    rows = [(f"g{k}", "Gadget thing", "Gadgets > Misc", "Gamma", 5.0) for k in range(10)]
    for kind, path, brand, price in (
        ("a", "Kitchen > Pans", "Alpha", 20.0),
        ("b", "Garden > Tools", "Beta", 60.0),
    ):
        word = "skillet" if kind == "a" else "trowel"
        for stem in ("", "new", "fresh"):
            for k in range(10 if stem == "" else 5 if stem == "new" else 3):
                rows.append((f"{kind}{stem}{k}", f"{brand} {word}", path, brand, price + k))
    return pd.DataFrame(rows, columns=["id", "title", "category", "brand", "price"])


def _store(cold_bought: str) -> pd.DataFrame:
    """A year of orders: 40 customers in GB buy kitchen products, 40 in DE garden ones. In
    December (after the validation date) each buys two products nobody had bought:
    cold_bought="kind": new ones of their own kind; "gadgets": the catalog's first gadgets."""
    rows = []
    for c in range(80):
        kind, country = ("a", "GB") if c < 40 else ("b", "DE")
        for m in range(1, 12):
            day = pd.Timestamp(2011, m, 1 + c % 25)
            for pid in (f"{kind}{(c + m) % 10}", f"{kind}{c % 10}"):
                rows.append((f"{c}-{m}", pid, str(c), day, country))
        late = [f"{kind}new{c % 5}", f"{kind}new{(c + 1) % 5}"]
        if cold_bought == "gadgets":
            late = ["g0", "g1"]
        for pid in late:
            rows.append((f"{c}-12", pid, str(c), pd.Timestamp(2011, 12, 1 + c % 25), country))
    out = pd.DataFrame(rows, columns=["invoice", "product_id", "customer_id", "ts", "country"])
    return out.assign(quantity=1, price=10.0)


def test_product_tokens_describe_every_catalog_column_present():
    tokens = cold.product_tokens(_catalog().iloc[[10]])[0]
    assert {"cat1:kitchen", "cat2:kitchen>pans", "brand:alpha", "word:skillet"} <= set(tokens)
    assert any(t.startswith("band:") for t in tokens)
    assert cold.product_tokens(pd.DataFrame({"id": ["x"]})) == [[]]  # ids only: no features


def test_training_keeps_lightfm_for_cold_products_where_their_features_predict_buyers():
    """Old code: LightFM was only evaluated; nothing served a never-bought product."""
    fitted = fit_store(_store("kind"), _catalog(), ALS, KNNParams())
    part = fitted.lightfm["cold_products"]
    assert part["serve"], part
    assert part["customers"] == 80
    assert part["ndcg@10"]["lightfm"] > part["ndcg@10"]["category_popularity"]
    assert part["ndcg@10"]["lightfm"] > part["ndcg@10"]["catalog_order"]
    assert any("LightFM for cold products" in n and "served" in n for n in fitted.notes)


def test_lightfm_is_not_served_where_it_does_not_win_and_a_note_says_so():
    fitted = fit_store(_store("gadgets"), _catalog(), ALS, KNNParams())
    part = fitted.lightfm["cold_products"]
    assert not part["serve"]
    assert part["ndcg@10"]["catalog_order"] >= part["ndcg@10"]["lightfm"]
    assert "does not beat catalog_order" in part["note"]
    assert any("cold products" in n and "not served" in n for n in fitted.notes)


def test_a_store_too_small_to_validate_gets_no_lightfm_and_says_so(tmp_path):
    lines = _store("kind").head(30)
    report = train(lines, _catalog()["id"], tmp_path, ALS, products=_catalog(), publish=False)
    model = Model(tmp_path / report.version)
    assert model.cold is None and not model.cold_products and not model.cold_visitors
    assert "cost" not in model.fitted["lightfm"]  # too few to choose on: not even fitted
    notes = [n for n in model.fitted["notes"] if n.startswith("LightFM for")]
    assert len(notes) == 2 and all("(< 20): LightFM not served" in n for n in notes)
    assert model.cold_products_for("0", (), "GB") == []


def test_a_version_ranks_a_never_bought_product_for_the_visitor_its_features_suit(tmp_path):
    catalog = _catalog()
    report = train(_store("kind"), catalog["id"], tmp_path, ALS, products=catalog, publish=False)
    model = Model(tmp_path / report.version)
    assert model.cold_products
    never = {p for p in catalog["id"] if p.startswith(("afresh", "bfresh", "g"))}
    for customer, country, kind in (("3", "GB", "a"), ("55", "DE", "b"), (None, "DE", "b")):
        picks = [p for p, _ in model.cold_products_for(customer, (), country, n=3)]
        assert set(picks) <= never
        assert all(p.startswith(f"{kind}fresh") for p in picks), (
            customer,
            picks,
        )
    # a stranger with no known country: what their session touched
    picks = model.cold_products_for(None, [("b1", "view"), ("b2", "view")], None, n=1)
    assert picks[0][0].startswith("bfresh")


def test_the_versions_lightfm_arrays_are_plain_npy_loaded_without_pickle(tmp_path):
    catalog = _catalog()
    report = train(_store("kind"), catalog["id"], tmp_path, ALS, products=catalog, publish=False)
    path = tmp_path / report.version
    for name in (*cold.FILES, *cold.FEATURE_FILES):
        array = np.load(path / f"{name}.npy", allow_pickle=False)  # raises on object arrays
        assert array.dtype != object
    assert len(np.load(path / "cold_item_vectors.npy")) == len(catalog)
    model = Model(path)
    assert memory_mapped(model.cold.item_vectors) and memory_mapped(model.cold.user_embeddings)
    meta = json.loads((path / "meta.json").read_text())
    # a server process scores with numpy alone: lightfm is never imported there
    script = (
        "import sys; from pathlib import Path; from recommender.serving import Model; "
        f"m = Model(Path({str(path)!r})); assert m.cold_products_for('3', (), 'GB'); "
        "assert 'lightfm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    cost = meta["fitted"]["lightfm"]["cost"]  # the validated model is the one served
    assert cost["threads"] == cold.THREADS and cost["epochs"] == cold.EPOCHS


def test_a_version_where_lightfm_won_for_first_visits_serves_it_from_context(tmp_path):
    """The version's decision is what switches the first-visit list: with cold_visitors.serve
    set in its meta.json, a first-time visitor gets LightFM's scores from their country."""
    catalog = _catalog()
    report = train(_store("kind"), catalog["id"], tmp_path, ALS, products=catalog, publish=False)
    path = tmp_path / report.version
    before = Model(path)
    assert not before.cold_visitors  # no new customers to validate on in this store
    meta = json.loads((path / "meta.json").read_text())
    meta["fitted"]["lightfm"]["cold_visitors"]["serve"] = True
    (path / "meta.json").write_text(json.dumps(meta))
    model = Model(path)
    assert model.cold_visitors
    for country, kind in (("GB", "a"), ("DE", "b")):
        top = [p for p, _ in model.first_visit_list(country)[:5]]
        assert all(p.startswith(kind) for p in top), (country, top)
    # a country LightFM never saw: the fitted list, as before
    assert model.first_visit_list("FR") == before.first_visit_list("FR")


def test_a_large_store_trains_lightfm_on_an_even_sample_of_customers(monkeypatch):
    monkeypatch.setattr(cold, "MAX_PAIRS", 400)
    _, _, cost = cold.fit_cold(_store("kind"), _catalog(), epochs=1)
    assert cost["sampled"] and 0 < cost["pairs"] <= 400 and cost["customers"] < 80


def test_a_product_described_from_its_features_gets_the_vector_training_gave_it():
    """describe() is how a version places a product it has no row for: the same features, the
    same weights, the same price bands as training, so the same vector."""
    catalog = _catalog()
    model, ids, _ = cold.fit_cold(_store("kind"), catalog, epochs=2)
    rows, vectors, bias = model.describe(catalog)
    assert list(rows) == list(range(len(catalog)))  # every product has a known feature
    at = pd.Index(ids).get_indexer(catalog["id"])
    np.testing.assert_allclose(vectors, model.item_vectors[at], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, model.item_bias[at], rtol=1e-5, atol=1e-6)
    # a product none of whose features training knew is not described at all
    stranger = pd.DataFrame({"id": ["z1"], "title": ["Qwerty"], "category": ["Toys"]})
    assert len(model.describe(stranger)[0]) == 0


def _late() -> pd.DataFrame:
    """Products a catalog lists after the training: one of each kind, and one nobody can place."""
    rows = [
        ("alate", "Alpha skillet deluxe", "Kitchen > Pans", "Alpha", 24.0),
        ("blate", "Beta trowel pro", "Garden > Tools", "Beta", 64.0),
        ("zlate", "Qwerty", "Toys", None, None),
    ]
    return pd.DataFrame(rows, columns=["id", "title", "category", "brand", "price"])


def _with(model: Model, frame: pd.DataFrame) -> Model:
    return model.with_products(
        list(frame["id"]),
        list(frame["title"]),
        list(frame["category"]),
        list(frame["brand"]),
        list(frame["price"]),
    )


def test_a_product_listed_after_the_training_is_served_to_the_visitor_its_features_suit(
    tmp_path,
):
    """Old code: a product the version had no row for (listed after the training, or only in
    the catalog) never reached a rail until the next training."""
    catalog = _catalog()
    report = train(_store("kind"), catalog["id"], tmp_path, ALS, products=catalog, publish=False)
    model = Model(tmp_path / report.version)
    assert model.describes_products
    late = _with(model, _late())
    assert list(late.unknown(np.array(["a1", "alate", "nope"]))) == ["alate", "nope"]
    for customer, country, mine, theirs in (
        ("3", "GB", "alate", "blate"),
        ("55", "DE", "blate", "alate"),
        (None, "DE", "blate", "alate"),
    ):
        picks = [p for p, _ in late.cold_products_for(customer, (), country, n=20)]
        assert mine in picks and "zlate" not in picks, picks
        assert theirs not in picks or picks.index(mine) < picks.index(theirs), picks
        assert picks.index(mine) < 5, picks  # among the first of the never-bought
        # the version itself is untouched: another catalog, another copy
        assert "alate" not in [p for p, _ in model.cold_products_for(customer, (), country, 20)]


def test_a_version_that_cannot_describe_products_serves_only_its_own(tmp_path):
    catalog = _catalog()
    report = train(_store("kind"), catalog["id"], tmp_path, ALS, products=catalog, publish=False)
    path = tmp_path / report.version
    for name in cold.FEATURE_FILES:  # a version trained before the embeddings were kept
        (path / f"{name}.npy").unlink()
    model = Model(path)
    assert model.cold_products and not model.describes_products
    assert _with(model, _late()) is model
    # where LightFM did not win for cold products, nothing is described either
    report = train(_store("gadgets"), catalog["id"], tmp_path, ALS, products=catalog)
    other = Model(tmp_path / report.version)
    assert not other.describes_products and _with(other, _late()) is other
