"""The shop of a store that brings its own catalog (tests/stores/grocery.py): its taxonomy in the
navigation and on category pages at every level, product pages with description, brand,
attributes and the catalog's own pictures, and never a retired, hidden or unavailable product,
whatever the model (trained on orders that include them) or a rule asks for."""

from __future__ import annotations

import csv
import html as html_lib
import re
import time

import pytest

from tests.conftest import run_cli
from tests.helpers import grocery_shop, record_event, shop_app


@pytest.fixture(scope="module")
def grocery(tmp_path_factory, embedded_redis_url) -> dict:
    """The grocery store: catalog imported, then its orders, then a model trained (~15 s)."""
    shop = grocery_shop(tmp_path_factory.mktemp("grocery"), embedded_redis_url)
    orders = shop["orders"]
    shop["bought"] = orders.groupby("sku")["customer"].apply(lambda s: sorted(set(s.dropna())))
    return shop


@pytest.fixture
def app(grocery):
    env = grocery["env"]
    yield from shop_app(
        grocery["home"],
        env["STOREFRONT_DATABASE_URL"],
        env["STOREFRONT_REDIS_URL"],
        model_check_seconds=0.0,  # a catalog import shows on the next request
    )


@pytest.fixture
def client(app):
    return app.test_client()


def never_shown(grocery) -> set[str]:
    return {r["id"] for r in grocery["rows"] if r["available"] == "no" or r["hidden"] == "true"}


def tiles(html: str) -> set[str]:
    return set(re.findall(r'data-product-id="([^"]+)"', html))


def test_navigation_and_category_pages_use_the_catalogs_taxonomy(client):
    html = client.get("/").get_data(as_text=True)
    nav = re.search(r'<nav class="categories".*?</nav>', html, re.S).group(0)
    names = [html_lib.unescape(n) for n in re.findall(r">([^<>]+)</a>", nav)]
    assert names == ["Fresh Food", "Pantry", "Household", "Baby & Kids", "Drinks"]
    assert "More gifts" not in html
    for slug, name, child in (
        ("fresh-food", "Fresh Food", "Dairy"),  # top level
        ("dairy", "Dairy", "Cheese"),  # second level
        ("cheese", "Cheese", None),  # a leaf
    ):
        r = client.get(f"/c/{slug}")
        assert r.status_code == 200, slug
        page = r.get_data(as_text=True)
        assert f"<h1>{name} <small>" in page
        if child:
            sub = re.search(r'data-testid="subcategories".*?</nav>', page, re.S).group(0)
            assert f">{child}</a>" in sub
        else:
            assert 'data-testid="subcategories"' not in page
    leaf = client.get("/c/cheese").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumb".*?</nav>', leaf, re.S).group(0)
    assert re.findall(r">([^<>]+)</a>", crumbs) == ["Fresh Food", "Dairy"]
    assert client.get("/c/christmas").status_code == 404  # the demo's categories are gone


def test_a_category_page_lists_its_whole_subtree(client, grocery):
    in_dairy = {r["id"] for r in grocery["rows"] if " > Dairy > " in r["category"]}
    page = client.get("/c/dairy").get_data(as_text=True)
    listed = tiles(re.search(r'data-slot="listing".*?</section>', page, re.S).group(0))
    assert listed and listed <= in_dairy - never_shown(grocery)


def test_product_page_shows_description_brand_attributes_and_the_real_picture(client, grocery):
    r0 = next(r for r in grocery["rows"] if r["available"] == "yes" and r["hidden"] == "false")
    r = client.get(f"/p/{r0['id']}")
    page = r.get_data(as_text=True)
    assert r0["description"] in page and f'data-testid="brand">{r0["brand"]}<' in page
    attrs = re.search(r'data-testid="attributes">(.*?)</dl>', page, re.S).group(1)
    assert f"<dt>Pack size</dt><dd>{r0['pack_size']}</dd>" in attrs
    assert f"<dt>Organic</dt><dd>{r0['organic']}</dd>" in attrs
    img = re.search(r'<article class="product".*?<img ([^>]*)>', page, re.S).group(1)
    assert f'src="{r0["image_url"]}"' in img and 'width="320"' in img and 'height="320"' in img
    assert "€" in re.search(r'<p class="price">([^<]*)<', page).group(1)
    csp = r.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://images.example.test" in csp
    assert "script-src 'self'" in csp  # nothing else loosened
    home = client.get("/").get_data(as_text=True)
    imgs = re.findall(r'<li class="tile"[^>]*>\s*<a[^>]*>\s*<img ([^>]*)>', home)
    assert imgs
    for attrs in imgs:
        assert 'loading="lazy"' in attrs and 'width="160"' in attrs and 'height="160"' in attrs
        assert 'src="https://images.example.test/' in attrs


def test_never_an_unavailable_or_hidden_product_anywhere(client, app, grocery):
    hidden = never_shown(grocery)
    assert hidden
    # the model learned them from the orders: only the catalog keeps them off the pages
    model = app.extensions["models"].get().model
    assert model is not None and hidden & set(model.item_ids.tolist())
    seen: set[str] = set()
    for url in ["/", "/c/fresh-food", "/c/pantry", "/c/household", "/c/baby-kids", "/c/drinks"]:
        seen |= tiles(client.get(url).get_data(as_text=True))
    titles = {r["id"]: r["title"] for r in grocery["rows"]}
    for pid in sorted(hidden):
        assert client.get(f"/p/{pid}").status_code == 404
        seen |= tiles(client.get("/search", query_string={"q": titles[pid]}).get_data(as_text=True))
    # customers who bought them: their own rails (buy again, for you) would bring them back
    customers = sorted(
        {c for pid in hidden if pid in grocery["bought"] for c in grocery["bought"][pid]}
    )
    for customer in customers[:5]:
        signed = client.post("/account", data={"customer_id": customer})
        assert signed.status_code == 303, signed.get_data(as_text=True)
        for url in ("/", "/c/fresh-food"):
            seen |= tiles(client.get(url).get_data(as_text=True))
        for slot in ("for-you", "buy-again", "trending"):  # email fragments
            frag = client.get(f"/api/v1/fragments/{slot}")
            assert frag.status_code in (200, 404)
            seen |= tiles(frag.get_data(as_text=True))
        body = client.get("/api/v1/pages/home").get_json()
        seen |= {p["id"] for s in body["slots"] for p in s["products"]}
    assert len(seen) > 20 and not (seen & hidden)


def test_a_rule_naming_the_catalogs_categories_and_products(app, grocery):
    from storefront.rules.validate import RulesError, check

    catalog = app.extensions["models"].get().catalog
    hidden = sorted(never_shown(grocery))[0]
    good = {
        "rules": [
            {
                "name": "dairy first",
                "when": {"affinity": "fresh-food"},
                "then": {"boost": [{"category": "dairy", "weight": 2}]},
            }
        ]
    }
    assert check(good, catalog).rules[0].name == "dairy first"
    pin = {"rules": [{"name": "pin", "then": {"pin": [{"product": hidden}]}}]}
    with pytest.raises(RulesError, match="no product"):
        check(pin, catalog)
    gifts = {"rules": [{"name": "x", "then": {"hide": {"categories": ["christmas"]}}}]}
    with pytest.raises(RulesError, match="'christmas' is not a category of the shop"):
        check(gifts, catalog)


def test_a_full_reimport_retires_products_in_the_running_shop(client, app, grocery):
    rows = grocery["rows"]
    shown = [r for r in rows if r["available"] == "yes" and r["hidden"] == "false"]
    gone = shown[0]
    assert client.get(f"/p/{gone['id']}").status_code == 200
    reduced = grocery["home"].parent / "products-reduced.csv"
    with reduced.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["id"] != gone["id"])
    try:
        out = run_cli(grocery["home"], "import", "products", str(reduced), env=grocery["env"])
        assert "1 retired" in out
        time.sleep(0.05)  # the stamp's mtime moves on
        assert client.get(f"/p/{gone['id']}").status_code == 404  # no retrain, no restart
        found = client.get("/search", query_string={"q": gone["title"]}).get_data(as_text=True)
        assert gone["id"] not in tiles(found)
    finally:
        run_cli(
            grocery["home"],
            "import",
            "products",
            str(grocery["paths"]["products"]),
            env=grocery["env"],
        )
    assert client.get(f"/p/{gone['id']}").status_code == 200


def test_the_studios_pickers_offer_the_catalogs_categories(app):
    from storefront.admin import users

    users.create(app.extensions["db"], "cat-editor", "a long enough password", "editor")
    client = app.test_client()
    r = client.post(
        "/admin/login", data={"username": "cat-editor", "password": "a long enough password"}
    )
    assert r.status_code == 303
    for url in ("/admin/rules/new", "/admin/preview"):
        page = html_lib.unescape(client.get(url).get_data(as_text=True))
        assert "Fresh Food › Dairy › Cheese" in page, url
        assert 'value="cheese"' in page and 'value="christmas"' not in page, url
    form = html_lib.unescape(client.get("/admin/rules/new").get_data(as_text=True))
    hide = re.search(r'id="hide_categories".*?</ul>', form, re.S).group(0)
    assert 'value="fresh-food"' in hide and 'value="cheese"' in hide  # every level
    # the price bands with this store's amounts, in its currency
    catalog = app.extensions["models"].get().catalog
    first = catalog.price_bands.edges[0]
    assert f"budget (under €{first:.2f})" in form and "luxury (€" in form and "£" not in form


def test_traits_and_mutes_follow_the_catalogs_taxonomy(client, app):
    client.get("/")
    catalog = app.extensions["models"].get().catalog
    cheeses = catalog.by_category["cheese"][:4]
    batch = [
        {"id": f"cat-view-{i}", "ts": 1733400000000, "type": "view", "product_id": p}
        for i, p in enumerate(cheeses)
    ]
    assert client.post("/events", json={"events": batch}).status_code == 202
    me = client.get("/me").get_data(as_text=True)
    assert 'data-trait="affinity:cheese"' in me and "You like <strong>Cheese</strong>" in me
    # muting a top level keeps everything below it off the shopper's rails
    assert client.post("/me", data={"action": "mute", "value": "fresh-food"}).status_code == 303
    shown = tiles(client.get("/").get_data(as_text=True))
    assert shown
    assert not [p for p in shown if "fresh-food" in catalog.get(p).category_path]


def test_the_api_and_email_fragments_carry_the_catalogs_pictures_and_currency(client):
    import jsonschema

    from storefront.api.openapi import PAGE

    body = client.get("/api/v1/pages/home?qa_country=DE").get_json()
    jsonschema.validate(body, PAGE)
    items = [p for s in body["slots"] for p in s["products"]]
    assert items and all(p["currency"] == "EUR" for p in items)
    assert all(p["image_url"].startswith("https://images.example.test/") for p in items)
    email = client.get("/api/v1/fragments/trending?qa_country=DE").get_data(as_text=True)
    assert 'src="https://images.example.test/' in email and "€" in email


def test_the_model_carries_the_stores_price_bands_and_segments(app, grocery):
    model = app.extensions["models"].get().model
    edges = model.meta["price_bands"]["edges"]
    prices = sorted(float(r["price"]) for r in grocery["rows"])
    assert len(edges) == 3 and prices[0] < edges[0] < edges[1] < edges[2] < prices[-1]
    names = {r["category"].split(" > ")[-1] for r in grocery["rows"]}
    assert model.segments and len({s.name for s in model.segments}) == len(model.segments)
    for s in model.segments:
        assert "€" in s.description and "£" not in s.description
        said = s.name.lower()  # the store's categories, or buying across them
        assert "all-round" in said or any(n.lower() in said for n in names), s.name


def _studio_editor(app, name: str):
    from storefront.admin import users

    engine = app.extensions["db"]
    if users.get(engine, name) is None:
        users.create(engine, name, "a long enough password", "editor")
    client = app.test_client()
    r = client.post("/admin/login", data={"username": name, "password": "a long enough password"})
    assert r.status_code == 303
    return client


def test_the_rule_forms_pickers_offer_the_grocery_taxonomy_and_find_its_products(app):
    client = _studio_editor(app, "picker-editor")
    form = html_lib.unescape(client.get("/admin/rules/new").get_data(as_text=True))
    lift = re.search(r'id="lift-0-category".*?</select>', form, re.S).group(0)
    assert ">Fresh Food › Dairy › Cheese</option>" in lift and 'value="cheese"' in lift
    assert "christmas" not in lift  # not the demo's gift categories
    band = re.search(r'id="lift-0-band".*?</select>', form, re.S).group(0)
    assert "budget (under €" in band
    catalog = app.extensions["models"].get().catalog
    cheese = catalog.by_category["cheese"][0]
    *first, last = catalog.get(cheese).title.lower().split()
    typed = " ".join([*first, last[:4]])  # its name, the last word half typed
    found = client.get("/admin/products/search", query_string={"q": typed}).get_json()
    hit = next(p for p in found["products"] if p["id"] == cheese)
    assert hit["category_label"] == "Fresh Food › Dairy › Cheese" and hit["price"].startswith("€")
    # a boost picked from the taxonomy is stored as the category's slug
    data = {
        "name": "More cheese",
        "priority": "10",
        "enabled": "y",
        "lift-0-direction": "boost",
        "lift-0-attribute": "category",
        "lift-0-category": "cheese",
        "pin-0-product": cheese,
    }
    check = html_lib.unescape(client.post("/admin/rules/check", data=data).get_data(True))
    assert "No problems. No conflicts found with" in check


def test_a_grocery_pin_picks_its_slot_by_name_and_shows_its_title_when_reopened(app):
    """On the generated store: the pin's slot is chosen by title among its layouts' slots; the
    reopened rule shows the pinned cheese's title and its place in the grocery taxonomy."""
    from storefront.rules import store

    engine = app.extensions["db"]
    client = _studio_editor(app, "slot-editor")
    catalog = app.extensions["models"].get().catalog
    cheese = catalog.by_category["cheese"][0]
    new = html_lib.unescape(client.get("/admin/rules/new").get_data(as_text=True))
    picker = re.search(r'<select id="pin-0-slot".*?</select>', new, re.S).group(0)
    product = re.search(r'<optgroup label="Product pages".*?</optgroup>', picker, re.S).group(0)
    assert '<option value="similar">You may also like</option>' in product
    data = {
        "name": "Cheese beside cheese",
        "priority": "10",
        "enabled": "y",
        "page": "product",
        "pin-0-product": cheese,
        "pin-0-slot": "similar",
        "hide_products": "NOT-A-GROCERY-CODE",
    }
    refused = client.post("/admin/rules/new", data=data)
    assert refused.status_code == 400  # the save checks the catalog; the form says which code
    page = html_lib.unescape(refused.get_data(as_text=True))
    assert "NOT-A-GROCERY-CODE: not in the catalog any more" in page
    del data["hide_products"]
    saved = client.post("/admin/rules/new", data=data)
    assert saved.status_code == 303
    rule = next(d for d in store.draft_rules(engine) if d.rule.name == "Cheese beside cheese")
    try:
        assert [(p.product, p.slot) for p in rule.rule.then.pin] == [(cheese, "similar")]
        again = html_lib.unescape(client.get(f"/admin/rules/{rule.id}").get_data(as_text=True))
        picker = re.search(r'<select id="pin-0-slot".*?</select>', again, re.S).group(0)
        assert '<option value="similar" selected>You may also like</option>' in picker
        known = re.search(r'data-testid="known-pin-0-product">(.*?)</ul>', again, re.S).group(1)
        assert catalog.get(cheese).display_title in known
        assert "Fresh Food › Dairy › Cheese" in known
    finally:
        store.delete_rule(engine, "slot-editor", rule.id)


def test_a_hide_of_a_grocery_category_against_a_pin_below_it(app):
    from storefront.rules import store
    from storefront.rules.schema import Rule

    engine = app.extensions["db"]
    client = _studio_editor(app, "conflict-editor")
    catalog = app.extensions["models"].get().catalog
    cheese = catalog.by_category["cheese"][0]
    pin = Rule.model_validate(
        {"name": "Cheese of the week", "priority": 50, "then": {"pin": [{"product": cheese}]}}
    )
    rule_id = store.save_rule(engine, "conflict-editor", pin)
    try:
        hide = {"name": "No dairy", "priority": "10", "enabled": "y", "hide_categories": "dairy"}
        check = html_lib.unescape(client.post("/admin/rules/check", data=hide).get_data(True))
        assert "'No dairy' (priority 10) hides category dairy (Fresh Food › Dairy)" in check
        assert f"which holds product {cheese}" in check
        assert "'Cheese of the week' (priority 50) pins it: the pin wins" in check
    finally:
        store.delete_rule(engine, "conflict-editor", rule_id)


def test_impact_samples_the_grocery_shops_recent_visits(app):
    from datetime import UTC, datetime, timedelta

    from storefront.rules import visits
    from storefront.rules.holder import NONE, Published
    from storefront.rules.impact import measure
    from storefront.rules.schema import Rule, RuleSet

    engine = app.extensions["db"]
    catalog = app.extensions["models"].get().catalog
    milk = catalog.by_category["milk"][:3]
    start = datetime(2032, 3, 1, 18, 0)  # evenings in Germany, viewing milk then a category page
    for i in range(45):
        at = start + timedelta(hours=i)
        for j, pid in enumerate(milk):
            record_event(
                engine,
                f"grocery-visit-{i:03d}-{j}",
                f"grocery-visitor-{i:03d}",
                at + timedelta(minutes=j),
                product_id=pid,
                page="product" if j < 2 else "category",
                country="DE",
                device="desktop",
            )
    sample = visits.recent(
        engine, catalog, "Europe/Berlin", now=datetime(2032, 3, 5, tzinfo=UTC), days=7
    )
    assert len(sample.visits) == 45 and sample.enough
    assert "45 visits sampled from the last 7 days" in sample.explain()
    assert all(set(v.persona.views) <= set(milk) for v in sample.visits)
    cats = {v.page_args.get("category") for v in sample.visits if v.page == "category"}
    assert cats <= {"milk"} and cats
    rule = Rule.model_validate(
        {
            "name": "Milk lovers",
            "when": {"viewed_category": "dairy"},
            "then": {"remove": ["trending"]},
        }
    )
    result = measure(
        sample, catalog, NONE, Published.of("d", RuleSet(rules=(rule,))), app.config["SETTINGS"]
    )
    # the visits whose page came after a view of milk (in dairy, one level up) are matched
    after_a_view = sum(1 for v in sample.visits if v.persona.views)
    assert 0 < after_a_view < 45 and result.rules_draft["Milk lovers"] == after_a_view
