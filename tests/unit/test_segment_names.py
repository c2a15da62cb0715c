"""Segment names read like a merchandiser's words and are unique, on the demo store (the real
order history, categorized as `storefront demo` does) and on the grocery test store: no two
groups share a name (the shopper once read "Mixed-range regulars" for two different groups),
no machine words ("Mixed-range", "(mid, Kitchen)"), and the same data gives the same names."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from recommender import segments
from storefront.categories import categorize
from tests.conftest import DATA
from tests.unit.test_store_taxonomy import grocery  # noqa: F401  (the grocery store fixture)


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_parquet(DATA)
    df = df[(df["Quantity"] > 0) & (df["UnitPrice"] > 0) & df["CustomerID"].notna()]
    titles = df.groupby("StockCode")["Description"].first().fillna("")
    cats = {sid: categorize(title) for sid, title in titles.items()}
    products = pd.DataFrame(
        {
            "id": list(cats),
            "category": [c.slug for c in cats.values()],
            "category_name": [c.name for c in cats.values()],
        }
    )
    lines = pd.DataFrame(
        {
            "invoice": df["InvoiceNo"].astype(str),
            "product_id": df["StockCode"],
            "customer_id": df["CustomerID"].astype(int).astype(str),
            "quantity": df["Quantity"],
            "price": df["UnitPrice"],
            "ts": df["InvoiceDate"],
            "country": df["Country"],
        }
    )
    return lines, products


def _reads_like_words(names: list[str]) -> None:
    assert len(set(names)) == len(names), names
    assert len({n.lower() for n in names}) == len(names), names
    for name in names:
        assert "Mixed-range" not in name and "(" not in name, name
        assert not re.search(r"\bgroup \d", name), name  # told apart by what they do
        assert name[:1].isupper() and len(name) <= 70, name


def test_demo_store_segment_names_are_unique_words(demo):
    lines, products = demo
    found, member = segments.build(lines, products)
    assert len(found) >= 10 and member
    _reads_like_words([s.name for s in found])
    assert len({s.id for s in found}) == len(found)
    again, _ = segments.build(lines, products)
    assert [s.name for s in again] == [s.name for s in found]


def test_grocery_store_segment_names_are_unique_words(grocery):  # noqa: F811
    lines, products = grocery
    for k in (8, 16, None):
        found, _ = segments.build(lines, products, k=k)
        _reads_like_words([s.name for s in found])


def test_groups_alike_but_for_one_habit_are_named_by_it():
    bases = ["All-round regulars", "All-round regulars", "Christmas buyers"]
    quals = [
        (("Budget", ""), ("", ""), ("", "")),
        (("Premium", ""), ("", ""), ("", "")),
        (("Budget", ""), ("", ""), ("", "")),
    ]
    assert segments._unique_names(bases, quals) == [
        "Budget all-round regulars",
        "Premium all-round regulars",
        "Christmas buyers",  # unique already: no qualifier
    ]
