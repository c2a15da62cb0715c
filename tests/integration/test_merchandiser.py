"""The merchandiser's studio on the demo shop (real database, real Redis): the rule form's
check against the live rules (and its "nothing found" sentence), the product search behind the
pickers, the category and price band pickers of boosts, and the impact report sampling the
shop's recent visits from the event log."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest

from storefront.admin import users
from storefront.rules import store, visits
from storefront.rules.schema import Rule, RuleSet
from tests.helpers import record_visits
from tests.integration.rules_support import (
    MOBILE_UA,
    catalog_of,
    clean_rules,  # noqa: F401 - fixture
    outside,
    publish,
)

PASSWORD = "a long enough password"


@pytest.fixture
def editor(app, clean_rules):  # noqa: F811 - the fixture
    users.create(clean_rules, "ed", PASSWORD, "editor")
    client = app.test_client()
    client.post("/admin/login", data={"username": "ed", "password": PASSWORD})
    return client


def form(**fields: str) -> dict[str, str]:
    return {"name": "New rule", "priority": "10", "enabled": "y", **fields}


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_hide_typed_against_a_live_pin_is_named_before_saving(app, editor):
    engine = app.extensions["db"]
    pid = outside(catalog_of(app), "party")
    publish(app, [{"name": "Hero mug", "priority": 80, "then": {"pin": [{"product": pid}]}}])
    # the pin is live; the draft has since dropped it (shoppers still get it until a publish)
    store.delete_rule(engine, "ed", store.draft_rules(engine)[0].id)
    hide = form(name="Tidy up", priority="5", hide_products=pid)
    check = text_of(editor.post("/admin/rules/check", data=hide))
    assert f"'Tidy up' (priority 5) hides product {pid}" in check
    assert "'Hero mug' (priority 80) pins it: the pin wins" in check
    assert "Hero mug wins" in check and "priority 80 over 5" in check
    # the reverse: a higher-priority hide makes the pin do nothing
    above = text_of(editor.post("/admin/rules/check", data={**hide, "priority": "90"}))
    assert f"so the pin of {pid} by 'Hero mug' (priority 80) does nothing" in above
    assert "Tidy up wins" in above
    # nothing to find: it says so, and how many rules it looked at
    quiet = text_of(editor.post("/admin/rules/check", data=form(remove="trending")))
    assert 'data-testid="check-ok"' in quiet
    assert "No problems. No conflicts found with 1 live rule." in quiet
    assert not store.draft_rules(engine)  # checking saves nothing


def test_a_hide_of_a_category_against_a_pinned_product_in_it(app, editor):
    catalog = catalog_of(app)
    pid = next(p.id for p in catalog.products.values() if p.category == "christmas")
    store.save_rule(
        app.extensions["db"],
        "ed",
        Rule.model_validate({"name": "Star", "priority": 40, "then": {"pin": [{"product": pid}]}}),
    )
    check = text_of(
        editor.post(
            "/admin/rules/check",
            data=form(name="No xmas", priority="60", hide_categories="christmas"),
        )
    )
    assert "'No xmas' (priority 60) hides category christmas" in check
    assert f"which holds product {pid}" in check and "No xmas wins" in check
    assert "1 unpublished draft rule" not in check  # a conflict was found: no "none" sentence


def test_product_search_finds_by_name_and_code_for_signed_in_users_only(app, editor):
    catalog = catalog_of(app)
    best = catalog.best_sellers(1)[0]
    words = " ".join(best.title.split()[:2]).lower()
    anonymous = app.test_client().get("/admin/products/search", query_string={"q": words})
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    found = editor.get("/admin/products/search", query_string={"q": words}).get_json()
    assert best.id in [p["id"] for p in found["products"]]
    first = found["products"][0]
    assert set(first) == {"id", "title", "category", "category_label", "price"}
    by_code = editor.get("/admin/products/search", query_string={"q": best.id.lower()})
    assert by_code.get_json()["products"][0]["id"] == best.id  # an exact code comes first
    assert editor.get("/admin/products/search?q=").get_json()["products"] == []
    long = editor.get("/admin/products/search", query_string={"q": "x" * 101})
    assert long.status_code == 400 and "q: at most 100 characters" in long.get_data(True)
    bad = editor.get("/admin/products/search?q=mug&limit=500")
    assert bad.status_code == 400 and "limit:" in bad.get_data(True)


def test_boosts_pick_categories_and_price_bands_and_store_their_ids(app, editor):
    engine = app.extensions["db"]
    page = text_of(editor.get("/admin/rules/new"))
    assert (
        'aria-label="Category, lift row 1"' in page
        and 'aria-label="Price band, lift row 1"' in page
    )
    assert 'data-picker data-target="pin-0-product"' in page  # the product picker, per pin row
    data = form(
        name="Party up",
        **{
            "lift-0-direction": "boost",
            "lift-0-attribute": "category",
            "lift-0-category": "party",
            "lift-0-weight": "2",
            "lift-1-direction": "bury",
            "lift-1-attribute": "price_band",
            "lift-1-band": "luxury",
            "lift-1-weight": "1",
        },
    )
    assert editor.post("/admin/rules/new", data=data).status_code == 303
    saved = store.draft_rules(engine)[0]
    assert [li.attribute for li in saved.rule.then.boost] == [("category", "party")]
    assert [li.attribute for li in saved.rule.then.bury] == [("price_band", "luxury")]
    again = editor.get(f"/admin/rules/{saved.id}").get_data(as_text=True)
    row = re.search(r'id="lift-0-category".*?</select>', again, re.S).group(0)
    assert '<option selected value="party">' in row


def test_impact_samples_recent_visits_from_the_event_log(app):
    engine = app.extensions["db"]
    catalog = catalog_of(app)
    pid = catalog.best_sellers(1)[0].id
    # a Christmas in the event log: 40 visitors on the day, in France, on phones, by e-mail
    christmas = datetime(2031, 12, 25, 11, 0)
    record_visits(
        engine,
        "xmas-visitor",
        40,
        christmas,
        timedelta(minutes=1),
        product_id=pid,
        page="product",
        country="FR",
        device="mobile",
        channel=lambda i: "email" if i % 2 else "web",
    )
    now = datetime(2031, 12, 26, 9, 0, tzinfo=UTC)
    sample = visits.recent(engine, catalog, "Europe/London", n=200, now=now)
    assert len(sample.visits) == 40 and sample.visitors == 40 and sample.enough
    v = sample.visits[0]
    assert v.persona.country == "FR" and v.persona.device == "mobile"
    assert v.persona.when.startswith("2031-12-25T12:")  # Paris time
    assert v.page == "product" and v.page_args == {"product_id": pid}
    assert "40 visits sampled from the last 14 days (12 Dec 2031 to 26 Dec 2031)" in (
        sample.explain()
    )
    from storefront.rules.holder import NONE, Published
    from storefront.rules.impact import measure

    holiday = Rule.model_validate(
        {"name": "Christmas Day", "when": {"holiday": True}, "then": {"remove": ["trending"]}}
    )
    emails = Rule.model_validate(
        {"name": "From e-mail", "when": {"channel": "email"}, "then": {"remove": ["trending"]}}
    )
    draft = Published.of("draft", RuleSet(rules=(holiday, emails)))
    settings = app.config["SETTINGS"]
    result = measure(sample, catalog, NONE, draft, settings)
    assert result.rules_draft["Christmas Day"] == 40  # every visit was on the holiday
    assert result.rules_draft["From e-mail"] == 20
    assert sample.matched(40) == "Matched 40 of 40 visits sampled from the last 14 days"
    # a fortnight later, nothing recent: too few to judge, and it says so
    later = visits.recent(engine, catalog, "Europe/London", now=now + timedelta(days=30))
    assert not later.visits and "too few recent visits to judge" in later.explain()


def test_the_impact_page_explains_its_sample_of_real_visits(app, editor):
    # visits through the shop's own event endpoint, as the tracker posts them
    pid = catalog_of(app).best_sellers(1)[0].id
    for i in range(35):
        shopper = app.test_client()
        shopper.get("/", headers={"User-Agent": MOBILE_UA})
        now = datetime.now(UTC).isoformat()
        batch = [{"id": f"impact-visit-{i:03d}", "ts": now, "type": "view", "product_id": pid}]
        batch[0]["page"] = "product"
        r = shopper.post("/events", json={"events": batch}, headers={"User-Agent": MOBILE_UA})
        assert r.status_code == 202, r.get_data(True)
    page = text_of(editor.get("/admin/impact?n=1000"))
    m = re.search(r"(\d+) visits sampled from the last 14 days \(([^)]+)\): drawn from", page)
    assert m and int(m.group(1)) >= 35, page[:3000]
    assert "Too few recent visits" not in page
    store.save_rule(
        app.extensions["db"],
        "ed",
        Rule.model_validate(
            {"name": "Phones", "when": {"device": "mobile"}, "then": {"remove": ["trending"]}}
        ),
    )
    page = text_of(editor.get("/admin/impact?n=1000"))  # every visitor of the period
    matched = re.search(r"Matched (\d+) of (\d+) visits sampled from the last 14 days", page)
    assert matched and int(matched.group(1)) >= 35
    # the slots the draft adds, by their titles, the id beside
    _save_gifts_rule(app.extensions["db"])
    page = text_of(editor.get("/admin/impact?n=1000"))
    added = r'Slots added: “Gifts for tonight” <small class="meta">gifts</small> \(\d+\)'
    assert re.search(added, page), page[page.find("impact-summary") :][:1500]
    assert editor.get("/admin/impact?days=0").status_code == 400
    assert "days: a whole number from 1 to 90" in editor.get("/admin/impact?days=x").get_data(True)


def _select(page: str, field_id: str) -> str:
    return re.search(rf'<select id="{field_id}".*?</select>', page, re.S).group(0)


def test_the_pins_slot_is_picked_by_name_and_a_reopened_pin_shows_its_title(app, editor):
    """The pin's slot is a select of the store's slots by their titles, grouped by page type
    (no script needed); the rule stores the slot id; reopened, the slot is selected once and the
    pinned product's code shows its title and category."""
    engine = app.extensions["db"]
    catalog = catalog_of(app)
    star = catalog.best_sellers(1)[0]
    new = text_of(editor.get("/admin/rules/new"))
    picker = _select(new, "pin-0-slot")
    assert 'name="pin-0-slot" aria-label="Pin in slot, row 1"' in picker
    assert '<option value="" selected>The page\'s first slot</option>' in picker
    home = re.search(r'<optgroup label="Home page".*?</optgroup>', picker, re.S).group(0)
    assert '<option value="trending">Trending near you</option>' in home
    search = re.search(r'<optgroup label="Search results".*?</optgroup>', picker, re.S).group(0)
    assert '<option value="for-you">You may also like</option>' in search
    assert 'name="pin-0-slot" type="text"' not in new  # no longer typed
    data = form(
        name="Star on search",
        page="search",
        **{"pin-0-product": star.id, "pin-0-position": "1", "pin-0-slot": "for-you"},
    )
    saved = editor.post("/admin/rules/new", data=data)
    assert saved.status_code == 303, text_of(saved)
    rule = store.draft_rules(engine)[0]
    assert [(p.product, p.slot) for p in rule.rule.then.pin] == [(star.id, "for-you")]
    again = text_of(editor.get(f"/admin/rules/{rule.id}"))
    picker = _select(again, "pin-0-slot")
    assert picker.count(" selected>") == 1  # for-you is on four pages: the rule's page is chosen
    search = re.search(r'<optgroup label="Search results".*?</optgroup>', picker, re.S).group(0)
    assert '<option value="for-you" selected>You may also like</option>' in search
    known = re.search(r'data-testid="known-pin-0-product">(.*?)</ul>', again, re.S).group(1)
    label = catalog.category_label(star.category) or star.category
    assert star.display_title in known and star.id in known and label in known


def test_move_and_change_rows_pick_slots_and_strategies_by_name(app, editor):
    """A move's and a change's slot are chosen like a pin's: the store's slots by their titles,
    the pages the rule is for first; the new strategy is chosen by what it shows, in words. The
    rule stores ids and names; reopened, each is selected once."""
    engine = app.extensions["db"]
    new = text_of(editor.get("/admin/rules/new"))
    for field_id, label in (
        ("move-0-slot", "Move slot, row 1"),
        ("set-0-slot", "Change slot, row 1"),
    ):
        picker = _select(new, field_id)
        assert f'aria-label="{label}" data-slot-picker' in picker
        assert '<option value="" selected>Choose a slot</option>' in picker
        home = re.search(r'<optgroup label="Home page".*?</optgroup>', picker, re.S).group(0)
        assert (
            'data-page="home"' in home
            and '<option value="trending">Trending near you</option>' in home
        )
        assert f'name="{field_id}" type="text"' not in new  # no longer typed
    strategy = re.search(r'<select[^>]*id="set-0-strategy".*?</select>', new, re.S).group(0)
    assert '<option value="trending_near_you">Trending near them</option>' in strategy
    assert (
        '<option value="category_top">Best sellers of a category (choose it)</option>' in strategy
    )
    data = form(
        name="Trending first on categories",
        page="category",
        **{
            "move-0-slot": "for-you",
            "move-0-position": "1",
            "set-0-slot": "for-you",
            "set-0-strategy": "trending_near_you",
        },
    )
    saved = editor.post("/admin/rules/new", data=data)
    assert saved.status_code == 303, text_of(saved)
    rule = store.draft_rules(engine)[0]
    assert [(m.slot, m.position) for m in rule.rule.then.move] == [("for-you", 1)]
    assert [(c.slot, c.strategy) for c in rule.rule.then.set] == [("for-you", "trending_near_you")]
    again = text_of(editor.get(f"/admin/rules/{rule.id}"))
    for field_id in ("move-0-slot", "set-0-slot"):
        picker = _select(again, field_id)
        assert picker.count(" selected>") == 1  # for-you is on four pages: the rule's is chosen
        first = re.search(r"<optgroup (.*?)</optgroup>", picker, re.S).group(1)
        assert first.startswith('label="Category pages"')  # the rule's page first
        assert '<option value="for-you" selected>Recommended for you</option>' in first
    strategy = re.search(r'<select[^>]*id="set-0-strategy".*?</select>', again, re.S).group(0)
    assert '<option selected value="trending_near_you">Trending near them</option>' in strategy


def test_a_slot_that_is_no_slot_of_the_shop_is_refused_naming_the_field(app, editor):
    pid = catalog_of(app).best_sellers(1)[0].id
    data = form(name="Lost pin", **{"pin-0-product": pid, "pin-0-slot": "nowhere"})
    refused = editor.post("/admin/rules/new", data=data)
    page = text_of(refused)
    assert refused.status_code == 400 and "then.pin[0].slot: unknown slot 'nowhere'" in page
    assert not store.draft_rules(app.extensions["db"])
    # the typed value stays, selected, saying what it is; markup in it is escaped
    assert '<optgroup label="Not a slot of this shop"><option value="nowhere" selected>' in page
    hostile = form(name="Lost pin", **{"pin-0-product": pid, "pin-0-slot": "<b>x</b>"})
    raw = editor.post("/admin/rules/new", data=hostile)
    assert raw.status_code == 400 and "<b>x</b>" not in raw.get_data(as_text=True)


def test_a_slot_added_by_the_rule_is_offered_once_the_form_comes_back(app, editor):
    pid = catalog_of(app).best_sellers(1)[0].id
    data = form(
        name="Gifts",
        action="check",
        **{
            "add-0-id": "gifts",
            "add-0-strategy": "category_top",
            "add-0-title": "Gifts for tonight",
            "add-0-category": "party",
            "pin-0-product": pid,
        },
    )
    page = text_of(editor.post("/admin/rules/new", data=data))
    picker = _select(page, "pin-0-slot")
    mine = re.search(r'<optgroup label="Added by this rule".*?</optgroup>', picker, re.S).group(0)
    assert '<option value="gifts">Gifts for tonight</option>' in mine


def test_a_reopened_rule_says_which_codes_left_the_catalog(app, editor):
    catalog = catalog_of(app)
    star = catalog.best_sellers(1)[0]
    rule_id = store.save_rule(  # saved without the catalog check, as an old rule would be
        app.extensions["db"],
        "ed",
        Rule.model_validate(
            {
                "name": "Old hides",
                "then": {
                    "pin": [{"product": "GONE-1"}],
                    "hide": {"products": [star.id, "GONE-2"]},
                },
            }
        ),
    )
    page = text_of(editor.get(f"/admin/rules/{rule_id}"))
    pin = re.search(r'data-testid="known-pin-0-product">(.*?)</ul>', page, re.S).group(1)
    assert "GONE-1: not in the catalog any more" in pin
    hide = re.search(r'data-testid="known-hide_products">(.*?)</ul>', page, re.S).group(1)
    assert star.display_title in hide and "GONE-2: not in the catalog any more" in hide


def _checks(page: str, field_id: str) -> str:
    return re.search(
        rf'<fieldset class="checks slot-checks" id="{field_id}">.*?</ul></fieldset>\s*</fieldset>',
        page,
        re.S,
    ).group(0)


def _ticked(checks: str) -> list[tuple[str, str]]:
    """(value, label) of each ticked box."""
    return re.findall(r'value="([^"]*)"[^>]* checked><label for="[^"]*">([^<]*)</label>', checks)


def test_only_these_slots_and_remove_slots_are_picked_by_title(app, editor):
    """As a merchandiser: "Only these slots" is one slot picker a row (by title, the rule's
    pages first, in order) and "Remove slots" ticks slots by their titles grouped by page type,
    each once, its id and its other pages beside it. The rule stores ids; reopened, the same
    slots are picked and ticked."""
    engine = app.extensions["db"]
    new = text_of(editor.get("/admin/rules/new"))
    assert 'name="layout" type="text"' not in new  # no longer typed
    first = _select(new, "layout-0-slot")
    assert 'aria-label="Only these slots, slot 1" data-slot-picker' in first
    assert '<option value="" selected>Choose a slot</option>' in first
    assert '<option value="trending">Trending near you</option>' in first
    remove = _checks(new, "remove")
    group = r'<fieldset class="slot-group" data-page="home" data-slots="buy-again for-you [^"]*">'
    home = re.search(group + ".*?</fieldset>", remove, re.S)
    assert "<legend>Home page</legend>" in home.group(0)
    assert '<label for="remove-1-5">Trending near you</label>' in home.group(0)
    assert "trending · on Home page, Product pages</small>" in home.group(0)
    assert remove.count('value="for-you"') == 1  # on four pages, ticked once
    assert "for-you · on Home page, Category pages, Search results, Basket</small>" in remove
    data = form(
        name="Listing under the picks",
        page="category",
        **{"layout-0-slot": "for-you", "layout-1-slot": "listing"},
    )
    saved = editor.post("/admin/rules/new", data=data)
    assert saved.status_code == 303, text_of(saved)
    calm = form(name="Calm home", page="home", remove=["trending", "seasonal"])
    saved = editor.post("/admin/rules/new", data=calm)
    assert saved.status_code == 303, text_of(saved)
    by_name = {d.rule.name: d for d in store.draft_rules(engine)}
    assert by_name["Listing under the picks"].rule.then.layout == ("for-you", "listing")
    assert by_name["Calm home"].rule.then.remove == ("trending", "seasonal")
    again = text_of(editor.get(f"/admin/rules/{by_name['Listing under the picks'].id}"))
    for i, (sid, title) in enumerate((("for-you", "Recommended for you"), ("listing", "Products"))):
        picker = _select(again, f"layout-{i}-slot")
        assert picker.count(" selected>") == 1
        group = re.search(r"<optgroup (.*?)</optgroup>", picker, re.S).group(1)
        assert group.startswith('label="Category pages"')  # the rule's page first
        assert f'<option value="{sid}" selected>{title}</option>' in group
    assert _select(again, "layout-2-slot").count(" selected>") == 1  # a blank row to add one
    again = text_of(editor.get(f"/admin/rules/{by_name['Calm home'].id}"))
    remove = _checks(again, "remove")
    assert _ticked(remove) == [("trending", "Trending near you"), ("seasonal", "In season")]
    assert remove.index("<legend>Home page</legend>") < remove.index("<legend>Category pages")


def _save_gifts_rule(engine) -> int:
    """A draft rule "Gifts" that adds the slot "gifts", titled "Gifts for tonight"."""
    gifts = {"id": "gifts", "strategy": "category_top", "title": "Gifts for tonight"}
    add = {**gifts, "params": {"category": "party"}}
    return store.save_rule(
        engine, "ed", Rule.model_validate({"name": "Gifts", "then": {"add": [add]}})
    )


def test_a_slot_no_page_has_any_more_stays_ticked_and_picked_saying_so(app, editor):
    """A rule that lays out and removes a slot another rule added: once that rule is deleted,
    reopening shows the slot by its id, "not on any page any more", still picked and ticked;
    saving it as it is names the problem instead of dropping it silently."""
    engine = app.extensions["db"]
    adder = _save_gifts_rule(engine)
    rule_id = store.save_rule(
        engine,
        "ed",
        Rule.model_validate(
            {
                "name": "Quiet",
                "priority": 20,
                "then": {"layout": ["gifts", "for-you"], "remove": ["gifts", "trending"]},
            }
        ),
    )
    before = _checks(text_of(editor.get(f"/admin/rules/{rule_id}")), "remove")
    other = re.search(r"<legend>Added by other rules</legend>.*?</fieldset>", before, re.S)
    assert (
        "Gifts for tonight</label>" in other.group(0) and "gifts · added by another rule" in before
    )
    store.delete_rule(engine, "ed", adder)
    page = text_of(editor.get(f"/admin/rules/{rule_id}"))
    picker = _select(page, "layout-0-slot")
    gone = re.search(r'<optgroup label="Not a slot of this shop">(.*?)</optgroup>', picker, re.S)
    assert '<option value="gifts" selected>gifts (not on any page any more)</option>' in gone.group(
        1
    )
    assert '<option value="for-you" selected>' in _select(page, "layout-1-slot")
    remove = _checks(page, "remove")
    assert _ticked(remove) == [("trending", "Trending near you"), ("gifts", "gifts")]
    assert "<legend>Not a slot of this shop</legend>" in remove
    assert ">not on any page any more</small>" in remove
    # sent back as it is: refused, naming the slot, and still there to untick
    stamp = re.search(r'name="stamp" type="hidden" value="([^"]*)"', page).group(1)
    data = form(
        name="Quiet",
        priority="20",
        stamp=stamp,
        remove=["trending", "gifts"],
        **{"layout-0-slot": "gifts", "layout-1-slot": "for-you"},
    )
    refused = editor.post(f"/admin/rules/{rule_id}", data=data)
    text = text_of(refused)
    assert refused.status_code == 400 and "then.layout[0]: unknown slot 'gifts'" in text
    assert "then.remove[1]: unknown slot 'gifts'" in text
    assert ("gifts", "gifts") in _ticked(_checks(text, "remove"))
    assert '<option value="gifts" selected>' in _select(text, "layout-0-slot")
    assert store.get_rule(engine, rule_id).rule.then.remove == ("gifts", "trending")


def _then(listing: str, rule: str) -> str:
    """The rules list's "Then" cell of a rule."""
    row = re.search(rf'<tr data-rule="{rule}".*?</tr>', listing, re.S).group(0)
    return re.findall(r"<td>(.*?)</td>", row, re.S)[3]


def test_the_rules_list_names_slots_by_their_titles(app, editor):
    """As a merchandiser reading the rules list: each rule's effects name slots by their titles
    (as titled on the rule's pages: "for-you" is "You may also like" on search results), a slot
    a rule adds by the title it adds it with; a slot no page has any more (the rule that added
    it was deleted) by its id, saying so. Pinned and hidden products are named by their titles
    in the catalog, the code beside; a code no longer in the catalog says so. The rules still
    store ids and codes."""
    engine = app.extensions["db"]
    adder = _save_gifts_rule(engine)
    catalog = catalog_of(app)
    pid = next(iter(catalog.products))
    title = catalog.get(pid).display_title
    rules = {
        "Search picks": {
            "when": {"page": ["search"]},
            "then": {
                "layout": ["for-you", "results"],
                "move": [{"slot": "for-you", "position": 2}],
                "set": [{"slot": "results", "size": 30}],
                "pin": [{"product": pid, "slot": "for-you"}],
            },
        },
        "Quiet": {"priority": 20, "then": {"remove": ["gifts", "trending"]}},
        "Old picks": {  # saved without the catalog check, as an old rule would be
            "priority": 30,
            "then": {"pin": [{"product": "GONE-1"}], "hide": {"products": [pid, "GONE-2"]}},
        },
    }
    for name, rule in rules.items():
        store.save_rule(engine, "ed", Rule.model_validate({"name": name, **rule}))
    listing = text_of(editor.get("/admin/rules"))
    assert _then(listing, "Gifts") == "add “Gifts for tonight”"
    assert _then(listing, "Search picks") == (
        "slots “You may also like”, “Results” · move “You may also like” to #2 · "
        f"set “Results” size · pin “{title}” ({pid}) at “You may also like” #1"
    )
    assert _then(listing, "Old picks") == (
        "pin GONE-1 (not in the catalog any more) at first slot #1 · "
        f"hide “{title}” ({pid}), GONE-2 (not in the catalog any more)"
    )
    assert _then(listing, "Quiet") == "remove “Gifts for tonight” · remove “Trending near you”"
    store.delete_rule(engine, "ed", adder)
    listing = text_of(editor.get("/admin/rules"))
    assert _then(listing, "Quiet") == (
        "remove gifts (not on any page any more) · remove “Trending near you”"
    )
    by_name = {d.rule.name: d.rule for d in store.draft_rules(engine)}
    assert by_name["Quiet"].then.remove == ("gifts", "trending")
    assert by_name["Search picks"].then.layout == ("for-you", "results")
    assert by_name["Search picks"].then.pin[0].product == pid
