"""The recommender on a store of another kind (tests/stores/grocery.py): segments named after
the store's own categories, its price bands and currency; the served replay's catalog in the
store's categories. Nothing of the demo's gift categories or pounds."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from recommender import segments
from recommender.price_bands import NAMES, PriceBands
from recommender.split import make_split
from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.catalog_import import slugify
from storefront.categories import CATEGORIES
from storefront.core.replay import _catalog
from tests.stores.grocery import write_store

DEMO_NAMES = {c.name for c in CATEGORIES}


@pytest.fixture(scope="module")
def grocery(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(order lines, products) as `storefront train` hands them to the recommender."""
    paths = write_store(tmp_path_factory.mktemp("grocery"), customers=240, days=120)
    prod = pd.read_csv(paths["products"])
    orders = pd.read_csv(paths["orders"])
    leaf = prod["category"].str.split(" > ").str[-1]
    products = pd.DataFrame(
        {
            "id": prod["id"],
            "title": prod["title"],
            "category": leaf.map(slugify),
            "category_name": leaf,
            "currency": prod["currency"],
        }
    )
    customer = orders["customer"].astype("Int64").astype(str).where(orders["customer"].notna())
    lines = pd.DataFrame(
        {
            "invoice": orders["order_id"],
            "product_id": orders["sku"],
            "customer_id": customer,
            "quantity": orders["qty"],
            "price": orders["unit_price"],
            "ts": pd.to_datetime(orders["created"], unit="s"),
            "country": orders["country_code"],
        }
    )
    return lines, products


def test_segments_are_named_after_the_stores_categories_uniquely(grocery):
    lines, products = grocery
    segs, member = segments.build(lines, products, k=16)
    assert len(segs) >= 8 and member
    names = [s.name for s in segs]
    assert len(set(names)) == len(names), names  # two segments never share a name
    assert len({s.id for s in segs}) == len(segs)
    store = set(products["category_name"])
    slugs = set(products["category"])
    for s in segs:
        # named after the store's categories (or buying across them), in its own words
        said = s.name.lower()
        assert any(n.lower() in said for n in store) or "all-round" in said, s.name
        assert {c for c, _ in s.top_categories} <= slugs
        assert s.price_band in NAMES
        assert "€" in s.description and "£" not in s.description + " ".join(s.differs)
        assert not any(n in s.description for n in DEMO_NAMES - store), s.description
    assert any(s.name.split(" ")[0] in {n.split(" ")[0] for n in store} for s in segs)


def test_price_bands_are_fitted_to_the_stores_prices():
    # a furniture shop: every price above the demo's top band edge
    prices = [40.0 + 10 * k for k in range(100)]
    products = [
        Product(f"sku-{k}", f"Chair {k}", "chairs", p, datetime(2024, 1, 1), 1)
        for k, p in enumerate(prices)
    ]
    catalog = Catalog(products, [CategoryInfo("chairs", "Chairs", len(products))])
    bands = [catalog.get(f"sku-{k}").band for k in range(100)]
    assert bands.count("budget") == 50 and bands.count("luxury") == 3
    assert catalog.get("sku-0").band == "budget" and catalog.get("sku-99").band == "luxury"
    fitted = PriceBands.fit(prices)
    assert PriceBands.from_dict(fitted.as_dict()) == fitted
    assert fitted.band(0.5) == "budget" and fitted.band(10_000) == "luxury"


def test_the_served_replay_sees_the_stores_categories(grocery):
    lines, products = grocery
    split = make_split(lines, products)
    catalog = _catalog(split)
    shown = {c.slug: c.name for c in catalog.categories}
    assert shown and set(shown) <= set(products["category"])
    assert shown.get("cheese") == "Cheese"
    assert catalog.category_name("christmas") is None
    some = catalog.get(str(split.products["id"].iloc[0]))
    assert some is not None and some.category in shown
