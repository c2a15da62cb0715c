"""The columnar catalog (storefront/catalog.py) answers exactly as a dict of products would:
lookups, listings in best-seller order, new arrivals, and word / prefix search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storefront.catalog import Catalog, CategoryInfo, Product

PRODUCTS = [
    Product("A1", "RED HEART CANDLE", "candles", 2.5, datetime(2011, 3, 1), 50),
    Product("B2", "WHITE HEART MUG", "kitchen", 4.0, datetime(2011, 9, 1), 80),
    Product("C3", "HEARTH BRUSH", "home", 9.0, None, 5),
    Product("D4", "RED LUNCH BAG", "bags", 1.65, datetime(2011, 9, 1), 200),
    Product("E5", "Café crème bowl", "kitchen", 3.0, datetime(2011, 10, 5, 12, 30), 80),
    Product("F6", "BLUE LUNCH BAG", "bags", 1.65, datetime(2010, 12, 1), 200),
]
CATEGORIES = [
    CategoryInfo("candles", "Candles", 1),
    CategoryInfo("kitchen", "Kitchen", 2),
    CategoryInfo("home", "Home", 1),
    CategoryInfo("bags", "Bags", 2),
    CategoryInfo("garden", "Garden", 0),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(PRODUCTS, CATEGORIES)


def test_products_come_back_as_they_went_in(catalog):
    assert len(catalog) == len(catalog.products) == 6
    for p in PRODUCTS:
        assert catalog.get(p.id) == p
        assert catalog.products[p.id] == p
        assert p.id in catalog.products
    assert list(catalog.products) == [p.id for p in PRODUCTS]
    assert catalog.get("Z9") is None and "Z9" not in catalog.products
    assert catalog.get("") is None and catalog.get("A1" * 40) is None
    with pytest.raises(KeyError):
        catalog.products["Z9"]
    assert catalog.get("E5").display_title == "Café crème bowl"


def test_listings_are_best_sellers_first_ties_by_id(catalog):
    assert list(catalog.by_category["bags"]) == ["D4", "F6"]
    assert catalog.by_category["kitchen"][:] == ["B2", "E5"]
    assert catalog.by_category["kitchen"][1] == "E5"
    assert "garden" not in catalog.by_category  # no products: no listing
    assert [c.slug for c in catalog.categories] == ["candles", "kitchen", "home", "bags"]
    assert catalog.category_name("garden") == "Garden"
    assert [p.id for p in catalog.best_sellers(3)] == ["D4", "F6", "B2"]


def test_new_arrivals_newest_first_then_best_selling_undated_left_out(catalog):
    assert list(catalog.new_arrivals) == ["E5", "D4", "B2", "A1", "F6"]


def test_search_all_words_with_the_last_as_a_prefix(catalog):
    hits = [pid for pid, _ in catalog.search("heart")]
    assert hits == ["B2", "A1", "C3"]  # HEART and HEARTH (prefix), best sellers first
    assert [pid for pid, _ in catalog.search("red heart")] == ["A1"]
    assert [pid for pid, _ in catalog.search("lunch ba")] == ["D4", "F6"]
    # no product has every word: any-word matches, most words first, then best sellers
    assert [pid for pid, _ in catalog.search("blue candle")] == ["F6", "A1"]
    assert [pid for pid, _ in catalog.search("red heart mug")][:1] == ["B2"]
    assert catalog.search("") == [] and catalog.search("zzz") == []
    assert [pid for pid, _ in catalog.search("heart", limit=1)] == ["B2"]


def test_an_empty_catalog_and_aware_dates():
    empty = Catalog([], [])
    assert len(empty) == 0 and empty.get("A1") is None and empty.search("heart") == []
    assert list(empty.new_arrivals) == [] and empty.by_category == {}
    when = datetime(2011, 5, 1, 9, 0, tzinfo=UTC)
    one = Catalog([Product("X", "THING", "home", 1.0, when, 1)], [CategoryInfo("home", "H", 1)])
    assert one.get("X").first_sold == when


def test_search_matches_a_brute_force_reference_on_a_bigger_catalog():
    """The search's shortcuts (binary-search intersection, sorting only the rows that can make
    the limit) give exactly the brute-force answer: every word in the title (the last as a
    prefix), more words first, then best sellers, ties by row; many products tie on units."""
    import random

    from storefront.catalog import tokens

    rng = random.Random(5)
    vocab = ["RED", "REDWOOD", "BLUE", "MUG", "MUGS", "HEART", "BAG", "TIN", "LACE", "GOLD"]
    products = [
        Product(f"P{i:05d}", " ".join(rng.sample(vocab, 3)), "home", 1.0, None, rng.randint(0, 5))
        for i in range(5_000)
    ]
    catalog = Catalog(products, [CategoryInfo("home", "Home", len(products))])

    def reference(query: str, limit: int) -> list[str]:
        words = tokens(query)
        scored = []
        for row, p in enumerate(products):
            title = set(tokens(p.title))
            hit = [
                any(t.startswith(w) for t in title) if i == len(words) - 1 else w in title
                for i, w in enumerate(words)
            ]
            scored.append((sum(hit), row, p))
        best = max(n for n, _, _ in scored)
        if best < len(words):  # nobody has every word: any word counts
            scored = [s for s in scored if s[0] > 0]
        else:
            scored = [s for s in scored if s[0] == len(words)]
        key = sorted(scored, key=lambda s: (-(s[0] + catalog._popularity[s[1]]), s[1]))
        return [p.id for _, _, p in key[:limit]]

    for query in ["red", "re", "mug", "red mug", "blue heart ba", "gold lace tin", "mugs red"]:
        for limit in (1, 7, 200):
            assert [pid for pid, _ in catalog._search(query, limit)] == reference(query, limit)


def test_search_matches_words_not_digits_inside_markup():
    """`<script>alert(1)</script>` is junk, not a search for "1": markup and code-like terms
    are dropped, and a number narrows a match of words but never makes one alone."""
    from storefront.catalog import query_words

    catalog = Catalog(
        [
            *PRODUCTS,
            Product("G7", "SET OF 1 RED HEART", "home", 1.0, None, 1),
            Product("H8", "SET OF 3 RED HEARTS", "home", 1.0, None, 1),
            Product("I9", "SCRIPTED ALERT 1 TIN", "home", 1.0, None, 1),
        ],
        CATEGORIES,
    )
    for junk in (
        "<script>alert(1)</script>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        '"><img src=x onerror=alert(1)>',
        "javascript:alert(1)",
        "<script>alert(1)",
        "1",
        "3 1",
    ):
        assert catalog.search(junk) == [], junk
    assert query_words("<b>red</b> heart") == ["RED", "HEART"]
    assert [pid for pid, _ in catalog.search("<b>red</b> heart")] == ["A1", "G7", "H8"]
    assert [pid for pid, _ in catalog.search("set of 3")] == ["H8"]  # whole number, not a prefix
    assert [pid for pid, _ in catalog.search("hearts 1")][:1] == ["H8"]  # 1 narrows nothing here
    assert "G7" not in [pid for pid, _ in catalog.search("hearts 1")]
