"""fragments.tile(): a product tile from its pieces (rendered once per product with
placeholders) is byte for byte what fragments/_tile.html renders for the pick itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from storefront import fragments, links
from storefront.catalog import Product, ProductDetails
from storefront.core.strategies.base import Pick

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def app():
    app = Flask("tiles", template_folder=str(TEMPLATES))
    app.add_url_rule("/p/<product_id>", "shop.product", lambda product_id: "")
    app.add_url_rule("/img/p/<product_id>.svg", "shop.product_image", lambda product_id: "")
    links.init_app(app)
    fragments.init_app(app)
    return app


PRODUCTS = [
    Product("22197", "POPCORN HOLDER", "kitchen-dining", 0.85, None, 10),
    Product("A&B<1>", 'Tom\'s "best" <b>mug</b> & co', "mugs", 12.5, None, 3, ("home", "mugs")),
    Product(
        "img-1",
        "Linen cushion",
        "textiles",
        30.0,
        None,
        1,
        details=ProductDetails(image_url="https://cdn.example/x.jpg?a=1&b=2", currency="EUR"),
    ),
    Product("odd", "a title with \x00kind\x00 in it", "other", 1.0, None, 0),  # rendered whole
]
PICKS = [
    Pick("x", 1.0, "One of our best sellers", "popular"),
    Pick("x", 1.0, 'Because you viewed <Tom\'s> "mug" & more', "similar"),
    Pick("x", 1.0, "Featured by our team", "pinned", "rule-7 <&>"),
    Pick("x", 1.0, "", ""),
    Pick("x", 1.0, "Something new for you", "discovery", ""),
]


@pytest.mark.parametrize("script_root", ["", "/shop"])
def test_a_tile_from_its_pieces_is_the_template_rendered_for_the_pick(app, script_root):
    template = app.jinja_env.get_template("fragments/_tile.html")
    with app.test_request_context("/", environ_base={"SCRIPT_NAME": script_root}):
        for p in PRODUCTS:
            for pick in PICKS:
                for _ in range(2):  # the first builds the pieces, the second reuses them
                    assert fragments.tile(p, pick) == template.render(p=p, pick=pick)


def test_the_rail_template_shows_each_tile(app):
    with app.test_request_context("/"):
        items = [(p, pick) for p, pick in zip(PRODUCTS, PICKS, strict=False)]
        html = app.jinja_env.get_template("fragments/rail.html").render(
            slot=type("S", (), {"id": "s", "strategy": "x"})(), title="T", items=items
        )
        for p, pick in items:
            assert str(fragments.tile(p, pick)) in html


def test_a_product_changed_under_the_same_id_gets_its_own_tile(app):
    template = app.jinja_env.get_template("fragments/_tile.html")
    pick = PICKS[0]
    before = Product("same", "OLD TITLE", "mugs", 1.0, None, 1)
    after = Product("same", "New title", "mugs", 2.5, None, 1)  # a new catalog's product
    with app.test_request_context("/"):
        for p in (before, after, before):
            assert fragments.tile(p, pick) == template.render(p=p, pick=pick)
