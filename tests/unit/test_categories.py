"""Keyword categories on real titles, the share left in "other", and price bands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recommender.price_bands import PriceBands
from storefront.categories import CATEGORIES, categorize, category_by_slug
from storefront.cleaning import clean_order_lines, resolve_mapping

DATA = Path(__file__).resolve().parents[2] / "data" / "online_retail_2010-2011.parquet"
OTHER_SHARE_LIMIT = 0.20


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("WHITE HANGING HEART T-LIGHT HOLDER", "candles-lighting"),
        ("RABBIT NIGHT LIGHT", "candles-lighting"),
        ("REGENCY CAKESTAND 3 TIER", "kitchen-dining"),
        ("PACK OF 72 RETROSPOT CAKE CASES", "kitchen-dining"),
        ("LUNCH BAG RED RETROSPOT", "kitchen-dining"),
        ("SPACEBOY LUNCH BOX", "kitchen-dining"),
        ("JUMBO BAG RED RETROSPOT", "bags"),
        ("RED RETROSPOT CHARLOTTE BAG", "bags"),
        ("PAPER CHAIN KIT 50'S CHRISTMAS", "christmas"),
        ("JUMBO BAG VINTAGE CHRISTMAS", "christmas"),
        ("PARTY BUNTING", "party"),
        ("ASSORTED COLOUR BIRD ORNAMENT", "home-decor"),
        ("GIN + TONIC DIET METAL SIGN", "home-decor"),
        ("BATHROOM METAL SIGN", "home-decor"),
        ("HEART OF WICKER SMALL", "home-decor"),
        ("ROBOT BIRTHDAY CARD", "stationery"),
        ("PACK OF 12 LONDON TISSUES", "bath-body"),
        ("SET OF 3 CAKE TINS PANTRY DESIGN", "kitchen-dining"),
        ("KNITTED UNION FLAG HOT WATER BOTTLE", "textiles"),
        ("VINTAGE SNAP CARDS", "toys-games"),
        ("BAG 250g SWIRLY MARBLES", "toys-games"),
        ("DIAMANTE HAIR GRIP PACK/2 PERIDOT", "jewellery-accessories"),
        ("WATERING CAN PINK BUNNY", "garden"),
        ("SEWING BOX RETROSPOT DESIGN", "crafts"),
        ("SET 3 WICKER STORAGE BASKETS", "storage"),
        ("SOMBRERO", "other"),
    ],
)
def test_real_titles(title, slug):
    assert categorize(title).slug == slug


def test_whole_words_only():
    assert categorize("CARDIGAN BUTTON").slug == "crafts"  # not CARD
    assert categorize("mug with lowercase title").slug == "kitchen-dining"
    assert categorize("").slug == "other"


def test_taxonomy():
    slugs = [c.slug for c in CATEGORIES]
    assert len(slugs) == len(set(slugs)) and 12 <= len(slugs) <= 16
    assert slugs[-1] == "other" and CATEGORIES[-1].name == "More gifts"
    assert category_by_slug("christmas").name == "Christmas"
    assert category_by_slug("nope") is None and category_by_slug(None) is None


def test_price_bands():
    bands = PriceBands((2.0, 6.0, 15.0))  # an edge belongs to the band above it
    price_band = bands.band
    assert price_band(0.85) == "budget"
    assert price_band(2.0) == "mid"
    assert price_band(5.99) == "mid"
    assert price_band(6.0) == "premium"
    assert price_band(12.75) == "premium"
    assert price_band(15.0) == "luxury"
    assert price_band(295.0) == "luxury"
    assert PriceBands().band(3.0) == "mid"  # a store with no prices yet


@pytest.mark.skipif(not DATA.exists(), reason="bundled data file missing")
def test_other_share_on_real_products():
    raw = pd.read_parquet(DATA)
    lines = clean_order_lines(raw, resolve_mapping(raw.columns, None)).lines
    titles = lines.drop_duplicates("product_id")["title"]
    slugs = titles.map(lambda t: categorize(t).slug)
    assert len(titles) > 3_000
    assert (slugs == "other").mean() < OTHER_SHARE_LIMIT
    assert slugs.nunique() == len(CATEGORIES)  # every category is used
