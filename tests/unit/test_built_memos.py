"""A built page's memos (fragments.tiles, fragments.product_article): byte for byte what the
template includes they replaced rendered, and keyed by every input they depend on (the
catalog, the product, the link forms, the approximate price); bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask, render_template_string
from flask_wtf.csrf import CSRFProtect, generate_csrf
from jinja2 import ChoiceLoader, DictLoader, FileSystemLoader

from storefront import fragments, links
from storefront.catalog import Catalog, CategoryInfo, Product, ProductDetails
from storefront.core.strategies import Pick

ROOT = Path(__file__).resolve().parents[2]

# fragments/_tile.html as it was, included per tile
OLD_TILE = """{% set href, img = product_links(p.id) -%}
<li class="tile" data-category="{{ p.category_path[0] }}" data-reason="{{ pick.kind }}"{% if pick.rule %} data-rule="{{ pick.rule }}"{% endif %} data-product-id="{{ p.id }}">
  <a class="tile-link" href="{{ href }}">
    <img src="{{ p.details.image_url or img }}" alt="{{ p.display_title }}" width="160" height="160" loading="lazy" decoding="async">
    <span class="tile-title">{{ p.display_title }}</span>
  </a>
  <span class="price">{{ p.price_text }}</span>
  <details class="why"><summary>Why this?</summary><p>{{ pick.reason }}</p></details>
</li>
"""  # noqa: E501
OLD_LOOP = '{% for p, pick in items %}{% include "old/_tile.html" %}{% endfor %}'
# the product page's <article> as a plain render, as product.html rendered it: the approximate
# price worked out in the template, the token by Flask-WTF's own global
OLD_ARTICLE = (
    (ROOT / "templates" / "shop" / "_article.html")
    .read_text()
    .replace(
        "{% if approx %}",
        "{% set approx = approx_price(product.price, d.currency or catalog.currency, ctx_country)"
        " %}{% if approx %}",
    )
)
RATES = {"EUR": 1.17}


def approx(amount, currency, country):
    """A stand-in for the shop's approx_price: a text for Germany, none elsewhere."""
    return f"≈ €{amount * RATES['EUR']:.2f}" if country == "DE" else None


def make_app(name: str = "built-memos", product: str = "/p", image: str = "/img/p") -> Flask:
    """A small app with the shop's link endpoints, CSRF and the template globals at hand."""
    app = Flask(name, template_folder=str(ROOT / "templates"))
    app.config.update(SECRET_KEY="s", WTF_CSRF_ENABLED=True)
    app.jinja_loader = ChoiceLoader(
        [
            DictLoader({"old/_tile.html": OLD_TILE}),
            FileSystemLoader(str(ROOT / "templates")),
        ]
    )
    shop = Blueprint("shop", __name__)
    shop.add_url_rule(f"{product}/<product_id>", "product", lambda product_id: "")
    shop.add_url_rule(f"{image}/<product_id>.svg", "product_image", lambda product_id: "")
    shop.add_url_rule("/c/<slug>", "category", lambda slug: "")
    shop.add_url_rule("/cart", "cart", lambda: "", methods=["GET", "POST"])
    app.register_blueprint(shop)
    CSRFProtect(app)
    links.init_app(app)
    fragments.init_app(app)
    app.jinja_env.globals["approx_price"] = approx
    return app


CATEGORIES = [
    CategoryInfo("home", "Home & <garden>", 3),
    CategoryInfo("mugs", 'Mugs "&" cups', 2, parent="home"),
    CategoryInfo("toys", "Toys", 1),
]


def catalog(title_of_a1: str = "RED MUG & SAUCER", version: str = "") -> Catalog:
    c = Catalog(
        [
            Product("A1", title_of_a1, "mugs", 2.5, None, 10, ("home", "mugs")),
            Product(
                "B/2 'x'",
                'Tin <toy> "robot"',
                "toys",
                12.0,
                None,
                3,
                details=ProductDetails(
                    description="Wind it & watch",
                    brand="Acme <b>",
                    image_url="https://img.example/b?x=1&y=2",
                    currency="EUR",
                    attributes_json='{"colour": "red & blue", "age_range": "3+"}',
                ),
            ),
        ],
        CATEGORIES,
    )
    c.version = version
    return c


PICKS = [
    Pick("A1", 1.0, "Because you viewed <Tin> & more", "similar", ""),
    Pick("B/2 'x'", 0.5, 'Featured "by" us', "pinned", "rule <7> & co"),
    Pick("A1", 0.2, "", "", ""),
]


def memo(app, name: str, cat) -> dict:
    """The app's memo table for one catalog (empty if none yet)."""
    return app.extensions.get(f"sf.{name}", {}).get(cat, {})


def old_tiles(app, cat, picks) -> str:
    items = [(cat.products[p.product_id], p) for p in picks]
    return app.jinja_env.from_string(OLD_LOOP).render(items=items)


def new_tiles(cat, picks) -> str:
    return str(fragments.tiles([(cat.products[p.product_id], p) for p in picks], cat))


@pytest.mark.parametrize("root", ["", "/shop"])
def test_tiles_are_the_old_include_byte_for_byte(root):
    app, cat = make_app(), catalog()
    with app.test_request_context("/", base_url=f"http://x{root}"):
        expected = old_tiles(app, cat, PICKS)
        assert new_tiles(cat, PICKS) == expected  # first sight
        assert new_tiles(cat, PICKS) == expected  # from the memo
        assert 'data-rule="rule &lt;7&gt; &amp; co"' in expected


@pytest.mark.parametrize("template", ["rail", "grid", "hero"])
def test_slot_fragments_are_the_old_templates_byte_for_byte(template):
    from storefront.core.compose import Composed
    from storefront.layouts import Slot

    app, cat = make_app(), catalog()
    params = {"copy": {"headline": "Hi & welcome", "text": "<b>", "link": "/c/toys"}}
    slot = Slot("s1", "trending", "Trending <now>", size=3, template=template, params=params)
    old = (ROOT / "templates" / "fragments" / f"{template}.html").read_text()
    old = old.replace("{{ tiles }}", OLD_LOOP)
    with app.test_request_context("/"):
        items = [(cat.products[p.product_id], p) for p in PICKS]
        expected = app.jinja_env.from_string(old).render(
            slot=slot, title="Trending <now>", items=items, page="home", compact=False
        )
        got = fragments.render_html(
            [Composed(slot, "Trending <now>", tuple(PICKS), False)], "home", cat, False
        )
        assert got[0].html == expected


def test_a_tile_follows_its_catalog_product_and_links():
    app = make_app()
    with app.test_request_context("/"):
        one = new_tiles(catalog("RED MUG"), PICKS[:1])
        assert "Red mug" in one
        # another catalog (a new import): the same id shows its new title
        assert "Blue mug" in new_tiles(catalog("BLUE MUG"), PICKS[:1])
        # the same catalog object with another version: not the old pieces either
        cat = catalog("RED MUG", version="v1")
        new_tiles(cat, PICKS[:1])
        cat.version = "v2"
        tiles = memo(app, "tiles", cat)
        tiles[next(iter(tiles))] = ("stale", "stale")
        assert "stale" not in new_tiles(cat, PICKS[:1])
    with app.test_request_context("/", base_url="http://x/shop"):  # another script root
        cat = catalog("RED MUG")
        assert 'href="/shop/p/A1"' in new_tiles(cat, PICKS[:1])
    with app.test_request_context("/"):
        assert 'href="/p/A1"' in new_tiles(cat, PICKS[:1])


def test_tile_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(fragments, "_TILES_MAX", 1)
    app, cat = make_app(), catalog()
    with app.test_request_context("/"):
        new_tiles(cat, PICKS)
    assert len(memo(app, "tiles", cat)) == 1


def render_article(app, cat, pid, country, old: bool) -> str:
    product = cat.products[pid]
    if old:
        return app.jinja_env.from_string(OLD_ARTICLE).render(
            product=product, catalog=cat, ctx_country=country, csrf_token=generate_csrf
        )
    a = approx(product.price, product.details.currency or cat.currency, country)
    return str(fragments.product_article(product, cat, a))


@pytest.mark.parametrize("pid", ["A1", "B/2 'x'"])
@pytest.mark.parametrize("country", ["GB", "DE", None])
def test_article_is_the_old_block_byte_for_byte(pid, country):
    app, cat = make_app(), catalog()
    with app.test_request_context("/"):
        expected = render_article(app, cat, pid, country, old=True)
        assert render_article(app, cat, pid, country, old=False) == expected  # first sight
        assert render_article(app, cat, pid, country, old=False) == expected  # memo
        assert generate_csrf() in expected


def test_article_carries_each_visitors_own_csrf_token():
    app, cat = make_app(), catalog()
    tokens = set()
    for _ in range(2):  # two visitors: two sessions, two tokens, one memo entry
        with app.test_request_context("/"):
            html = render_article(app, cat, "A1", "GB", old=False)
            assert f'value="{generate_csrf()}"' in html
            tokens.add(generate_csrf())
    assert len(tokens) == 2
    assert len(memo(app, "articles", cat)) == 1


def test_article_follows_price_catalog_and_links():
    app = make_app()
    with app.test_request_context("/"):
        cat = catalog()
        gb = render_article(app, cat, "A1", "GB", old=False)
        de = render_article(app, cat, "A1", "DE", old=False)
        assert "approx-price" not in gb and "≈ €2.92" in de
        assert render_article(app, cat, "A1", "GB", old=False) == gb  # not the German one
        assert "Blue mug" in render_article(app, catalog("BLUE MUG"), "A1", "GB", old=False)
        cat.version = "v2"
        articles = memo(app, "articles", cat)
        for k in articles:
            articles[k] = ("stale", "stale")
        assert "stale" not in render_article(app, cat, "A1", "GB", old=False)
    with app.test_request_context("/", base_url="http://x/shop"):
        assert 'href="/shop/c/home"' in render_article(app, cat, "A1", "GB", old=False)


def test_article_with_the_mark_in_its_text_is_rendered_each_time():
    app, cat = make_app(), catalog(title_of_a1="MUG \x00csrf\x00")
    with app.test_request_context("/"):
        html = render_article(app, cat, "A1", "GB", old=False)
        assert html == render_article(app, cat, "A1", "GB", old=True)
    assert not memo(app, "articles", cat)


def test_article_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(fragments, "_ARTICLES_MAX", 1)
    app, cat = make_app(), catalog()
    with app.test_request_context("/"):
        render_article(app, cat, "A1", "GB", old=False)
        render_article(app, cat, "B/2 'x'", "GB", old=False)
    assert len(memo(app, "articles", cat)) == 1


def test_render_template_string_unaffected():
    """The product page template still renders the article through the global."""
    app, cat = make_app(), catalog()
    with app.test_request_context("/"):
        html = render_template_string(
            "{{ product_article(product, catalog, None) }}", product=cat.products["A1"], catalog=cat
        )
        assert 'data-product-id="A1"' in html


def test_memos_are_per_app():
    """Two apps (two URL maps) showing one catalog object keep their own links."""
    first, cat = make_app(), catalog()
    other = make_app("built-memos-other", product="/item", image="/pic")
    with first.test_request_context("/"):
        assert 'href="/p/A1"' in new_tiles(cat, PICKS[:1])
        assert 'src="/img/p/A1.svg"' in render_article(first, cat, "A1", "GB", old=False)
    with other.test_request_context("/"):
        assert 'href="/item/A1"' in new_tiles(cat, PICKS[:1])
        assert 'src="/pic/A1.svg"' in render_article(other, cat, "A1", "GB", old=False)


def test_slot_frames_hold_only_for_templates_that_read_nothing_else():
    """A fragment's HTML around its tiles is kept per template and slot shape (fragments._frame);
    a title holding the mark, or a template that reads the items or a global, is rendered
    whole, and each is still the template's own render."""
    from storefront.core.compose import Composed
    from storefront.layouts import Slot

    app, cat = make_app(), catalog()
    app.jinja_loader.loaders.insert(
        0,
        DictLoader(
            {
                "fragments/counted.html": "<ol data-n='{{ items|length }}'>{{ tiles }}</ol>",
                "fragments/linked.html": "<a href='{{ link(\"shop.cart\") }}'>{{ tiles }}</a>",
            }
        ),
    )
    with app.test_request_context("/"):
        for template, title in [
            ("rail", "Trending <now>"),
            ("rail", "Odd \x00tiles\x00 title"),
            ("counted", "Counted"),
            ("linked", "Linked"),
        ]:
            slot = Slot("s9", "trending", title, size=3, template=template)
            for picks in (PICKS, PICKS[::-1]):  # the second: the frame kept, new tiles
                items = [(cat.products[p.product_id], p) for p in picks]
                whole = app.jinja_env.get_template(f"fragments/{template}.html").render(
                    slot=slot,
                    title=title,
                    items=items,
                    tiles=fragments.tiles(items, cat),
                    page="home",
                    compact=False,
                )
                got = fragments.render_html(
                    [Composed(slot, title, picks, False)], "home", cat, False
                )
                assert got[0].html == whole
        kept = {t.name: e[0] for t, e in fragments._FRAMES.items()}
        assert kept["fragments/rail.html"] is True
        assert kept["fragments/counted.html"] is False and kept["fragments/linked.html"] is False
