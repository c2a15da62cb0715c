"""Product tiles: valid standalone SVG, escaped text, stable and distinct colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from storefront.categories import CATEGORIES
from storefront.product_images import svg_tile, tile_colours, wrap_title

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("slug", [c.slug for c in CATEGORIES] + ["no-such-category"])
def test_every_category_gives_valid_svg(slug):
    root = _parse(svg_tile("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", slug))
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 320 320"
    assert root.find(f"{NS}title").text == "WHITE HANGING HEART T-LIGHT HOLDER"


def test_hostile_title_is_escaped():
    title = 'Tom & Jerry <script>alert("x")</script> \'quoted\' "<b>'
    svg = svg_tile("X1", title, "other")
    assert "<script>" not in svg and "<b>" not in svg
    root = _parse(svg)
    assert root.find(f"{NS}title").text == title
    assert root.get("aria-label") == title
    shown = "".join(root.find(f"{NS}text").itertext())
    assert shown.startswith("Tom & Jerry")


def test_control_characters_do_not_break_xml():
    _parse(svg_tile("X2", "BAD\x00\x07 TITLE", "other"))


def test_no_external_references():
    svg = svg_tile("22423", "REGENCY CAKESTAND 3 TIER", "kitchen-dining")
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "href" not in svg


def test_deterministic_and_distinct():
    a1 = svg_tile("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "candles-lighting")
    a2 = svg_tile("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "candles-lighting")
    b = svg_tile("85123B", "WHITE HANGING HEART T-LIGHT HOLDER", "candles-lighting")
    assert a1 == a2
    assert tile_colours("85123A") != tile_colours("85123B")
    assert a1 != b
    colours = {tile_colours(str(i))[0] for i in range(200)}
    assert len(colours) > 190


def test_title_wrapping():
    lines = wrap_title("WHITE HANGING HEART T-LIGHT HOLDER")
    assert lines == ["WHITE HANGING", "HEART T-LIGHT", "HOLDER"]
    long = wrap_title("SET OF 3 REGENCY CAKE TINS WITH A VERY LONG DESCRIPTION")
    assert len(long) == 3 and long[-1].endswith("…")
    assert all(len(line) <= 15 for line in long)
    assert wrap_title("SUPERCALIFRAGILISTIC") == ["SUPERCALIFRAGI", "LISTIC"]
    assert wrap_title("   ") == []
