"""End to end, in a real Chromium against a running shop: a merchandiser writes a rule in the
studio, previews it as the visitor it is for and as another, publishes it; shoppers then get
it (or not); a viewer cannot publish; a broken YAML import shows the error and changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT
from tests.e2e.pages import IPHONE, IPHONE_UA, HomePage
from tests.e2e.studio_pages import (
    ExperimentsPage,
    ImpactPage,
    PreviewPage,
    PublishPage,
    RuleEditor,
    Studio,
    YamlPage,
)

PASSWORD = "studio test password"
RULE = "Evening gifts for French phones"
FR_EVENING = {"country": "FR", "time": "2011-12-05T19:30"}


def _shop_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The running shop's $STOREFRONT_HOME (made by the shared shop_server fixture)."""
    found = tmp_path_factory.getbasetemp().glob("shop*/home")  # shopcurrent links to shopN
    homes = sorted({p.resolve() for p in found if (p / "storefront.db").exists()})
    assert len(homes) == 1, homes
    return homes[0]


def storefront(home: Path, *args: str, stdin: str | None = None, ok: str = "") -> str:
    """The command's output; it must succeed (or fail saying `ok`, when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env["STOREFRONT_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "storefront.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0 or (ok and ok in said), said
    return result.stdout


@pytest.fixture(scope="module")
def studio_home(shop_server: str, tmp_path_factory: pytest.TempPathFactory):
    """Studio users in the running shop; afterwards, an empty rule set is published again (and
    every experiment stopped) so the other end-to-end tests see the default layouts."""
    home = _shop_home(tmp_path_factory)
    for name, role in (("pia", "publisher"), ("ed", "editor"), ("vera", "viewer")):
        storefront(
            home, "users", "create", "--role", role, name, "--password-stdin", stdin=PASSWORD + "\n"
        )
    yield home
    empty = home / "empty-rules.yaml"
    empty.write_text("rules: []\n")
    # (a test may have published the empty set already)
    storefront(
        home,
        "rules",
        "import",
        str(empty),
        "--publish",
        "--note",
        "e2e cleanup",
        ok="nothing to publish",
    )
    for line in storefront(home, "experiments", "list").splitlines():
        if "  running  " in line:
            storefront(home, "experiments", "stop", line.split()[0])
    time.sleep(3.5)  # workers poll rules every second, experiments every three


@pytest.fixture
def product_x(shop_server: str, page: Page) -> str:
    """A Christmas best seller: not in the party category, so its pin in the gifts rail shows."""
    page.goto(shop_server + "/c/christmas")
    return page.locator('[data-slot="listing"] li.tile').first.get_attribute("data-product-id")


def eventually(check: Callable[[], bool], seconds: float = 6.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def test_a_merchandiser_writes_previews_and_publishes_a_rule(
    shop_server: str, studio_home: Path, page: Page, new_page, product_x: str
):
    title = page.locator(f'li.tile[data-product-id="{product_x}"] .tile-title').first.inner_text()
    editor = RuleEditor(page, shop_server).sign_in("pia", PASSWORD)
    editor.open_new()
    editor.field("Name").fill(RULE)
    editor.field("Priority (higher wins)").fill("50")
    editor.check("Page", "home")
    editor.check("Device", "mobile")
    editor.field("Countries (codes, comma-separated)").fill("FR")
    editor.check("Part of day", "evening")
    editor.add_slot(1, "gifts", "category_top", "Gifts for tonight", "party", position=1)
    # the slot this rule adds joins the pin's slot picker as it is typed, by its title
    editor.pin(1, product_x, slot="Gifts for tonight", position=1)
    expect(editor.field("Pin in slot, row 1")).to_have_value("gifts")
    expect(editor.live_check).to_contain_text("No problems. No conflicts found with")  # as typed
    editor.save()
    expect(editor.flash).to_contain_text(f"Saved '{RULE}' in the draft")
    # reopened: the slot still picked, the pinned product's code shown with its title
    editor.reopen(RULE)
    expect(editor.field("Pin in slot, row 1")).to_have_value("gifts")
    expect(editor.field("Pin product, row 1")).to_have_value(product_x)
    expect(editor.known("pin-0-product")).to_contain_text(title.strip())
    expect(editor.known("pin-0-product")).to_contain_text(product_x)

    # conflicts are flagged while the next rule is written, naming the winner
    editor.open_new()
    editor.field("Name").fill("No Christmas clutter")
    editor.field("Hide products (codes)").fill(product_x)
    expect(editor.live_check).to_contain_text("(priority 50) pins it: the pin wins")
    expect(editor.live_check).to_contain_text(f"{RULE} wins")
    page.goto(shop_server + "/admin/rules")  # not saved

    preview = PreviewPage(page, shop_server)
    preview.open(
        **{
            "Country code": "FR",
            "Device": "mobile",
            "Their local date and time (empty: now)": "2011-12-05T19:30",
        }
    )
    assert preview.slots("draft")[0] == "gifts" and "gifts" not in preview.slots("published")
    expect(preview.slot_line("draft", "gifts")).to_contain_text(product_x)
    expect(preview.rule("draft", RULE)).to_have_attribute("data-matched", "yes")
    expect(preview.rule("draft", RULE)).to_contain_text("device is mobile (wants mobile)")
    frame = preview.frame("draft")
    expect(frame.locator('section[data-slot="gifts"] li.tile').first).to_have_attribute(
        "data-product-id", product_x
    )
    expect(frame.locator('section[data-slot="gifts"] h2')).to_have_text("Gifts for tonight")

    preview.open(
        **{
            "Country code": "DE",
            "Device": "desktop",
            "Their local date and time (empty: now)": "2011-12-05T19:30",
        }
    )
    expect(page.get_by_test_id("differences")).to_have_text(
        "Nothing: this visitor sees the same page."
    )
    expect(preview.rule("draft", RULE)).to_contain_text("country is DE (wants FR)")

    publisher = PublishPage(page, shop_server).open()
    expect(page.get_by_test_id("diff")).to_contain_text(f"+- name: {RULE}")
    started = time.monotonic()
    publisher.publish("gifts rail for French phones in the evening")

    phone = HomePage(new_page(**IPHONE), shop_server)

    def shows_gifts() -> bool:
        phone.goto(**FR_EVENING)
        return phone.slot_ids()[:1] == ["gifts"]

    assert eventually(shows_gifts), phone.slot_ids()
    print(f"published rule on a shopper's page after {time.monotonic() - started:.1f}s")
    assert phone.product_ids_in("gifts")[0] == product_x
    assert phone.slot_title("gifts") == "Gifts for tonight"
    assert phone.reason_for("gifts", product_x) == "Featured by our team"
    desktop = HomePage(new_page(), shop_server).goto(**FR_EVENING)
    assert "gifts" not in desktop.slot_ids() and "for-you" in desktop.slot_ids()
    morning = HomePage(new_page(**IPHONE), shop_server).goto(country="FR", time="2011-12-05T09:30")
    assert "gifts" not in morning.slot_ids()


def test_a_viewer_cannot_publish(shop_server: str, studio_home: Path, page: Page):
    studio = Studio(page, shop_server).sign_in("vera", PASSWORD)
    studio.nav("Rules")
    expect(page.get_by_role("link", name="New rule")).to_have_count(0)
    studio.nav("Publish")
    expect(page.get_by_test_id("cannot-publish")).to_contain_text("needs the publisher role")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    token = studio.csrf_token()
    forged = page.request.post(
        shop_server + "/admin/publish", form={"csrf_token": token, "note": "sneaky"}
    )
    assert forged.status == 403
    studio.nav("Versions")
    expect(page.get_by_role("button", name="Restore")).to_have_count(0)


def test_segments_have_names_a_merchandiser_can_tell_apart(
    shop_server: str, studio_home: Path, page: Page
):
    Studio(page, shop_server).sign_in("vera", PASSWORD).nav("Segments")
    rows = page.locator("table tbody th[scope=row]")
    expect(rows.first).to_be_visible()
    names = [r.inner_text().splitlines()[0].strip() for r in rows.all()]
    assert len(names) >= 2 and len(set(names)) == len(names), names  # no two alike
    for name in names:  # words, not internal ids: spaces or capitals, no slug dashes only
        assert name and name != name.lower().replace(" ", "-"), name


def test_a_broken_yaml_import_shows_the_error_and_changes_nothing(
    shop_server: str, studio_home: Path, page: Page
):
    yaml = YamlPage(page, shop_server)
    yaml.sign_in("ed", PASSWORD)
    yaml.open()
    before = yaml.text.input_value()
    rules_before = page.request.get(shop_server + "/admin/export.yaml").text()
    broken = (
        "rules:\n"
        "  - name: Weekend sale\n"
        "    when: {weekend: true, country: FRA}\n"
        "    then: {remove: [trending]}\n"
    )
    yaml.replace(broken)
    expect(yaml.problems).to_contain_text(
        "line 3: rule 'Weekend sale': when.country: 'FRA' is not a two-letter country code"
    )
    yaml.open()
    assert yaml.text.input_value() == before
    assert page.request.get(shop_server + "/admin/export.yaml").text() == rules_before


def test_a_publisher_runs_an_experiment_and_visitors_get_their_arms(
    shop_server: str, studio_home: Path, page: Page, new_page
):
    studio = ExperimentsPage(page, shop_server).sign_in("pia", PASSWORD)
    studio.open()
    studio.create(
        "For you against new arrivals",
        page="home",
        slot="for-you",
        arms=[("control", 50, "for_you"), ("newness", 50, "new_arrivals")],
        metric="ctr",
    )
    expect(studio.status).to_have_text("draft")
    studio.press("Start")
    expect(studio.status).to_have_text("running")

    def strategy(home: HomePage) -> str:
        return home.slot("for-you").get_attribute("data-strategy") or ""

    time.sleep(3.5)  # every worker re-reads the running experiments within three seconds
    # fresh visitors until one of each arm has come (the split is 50/50 by visitor id)
    seen: dict[str, tuple[HomePage, list[str]]] = {}
    for _ in range(40):
        home = HomePage(new_page(), shop_server).goto(country="GB")
        seen.setdefault(strategy(home), (home, home.product_ids_in("for-you")))
        if {"for_you", "new_arrivals"} <= set(seen):
            break
    assert {"for_you", "new_arrivals"} <= set(seen), seen.keys()
    (a, products_a), (b, products_b) = seen["for_you"], seen["new_arrivals"]
    assert products_a != products_b  # different arms, different pages
    for home, arm in ((a, "for_you"), (b, "new_arrivals")):  # and each keeps their arm
        home.goto(country="GB")
        assert strategy(home) == arm

    studio.page.reload()
    expect(studio.page.get_by_test_id("results")).to_be_visible()
    studio.press("Stop")
    expect(studio.status).to_have_text("stopped")
    assert eventually(lambda: strategy(b.goto(country="GB")) == "for_you", 8)


def _empty_draft(home: Path, publish: bool = False) -> None:
    empty = home / "empty-draft.yaml"
    empty.write_text("rules: []\n")
    more = ("--publish", "--note", "e2e: a clean slate") if publish else ()
    storefront(home, "rules", "import", str(empty), *more, ok="nothing to publish")


def test_a_hide_typed_against_a_higher_priority_pin_warns_before_saving(
    shop_server: str, studio_home: Path, page: Page, product_x: str
):
    """As a merchandiser: I feature a product (found by its name) and boost a category (picked
    from the shop's categories); then, writing a hide of that product, I am warned before I
    save, with both rules, their priorities and who wins."""
    title = page.locator(f'li.tile[data-product-id="{product_x}"] .tile-title').first.inner_text()
    words = " ".join(title.split()[:3])
    _empty_draft(studio_home, publish=True)  # an earlier test's live pin of it would conflict
    editor = RuleEditor(page, shop_server).sign_in("ed", PASSWORD)
    try:
        editor.open_new()
        editor.field("Name").fill("Feature the star")
        editor.field("Priority (higher wins)").fill("60")
        editor.pick_product("Find a product to pin, row 1", words, product_x)
        expect(editor.field("Pin product, row 1")).to_have_value(product_x)
        expect(page.get_by_test_id("picked-pin-0-product")).to_contain_text(product_x)
        editor.lift(1, "Boost", "category is", category="Party & celebrations")
        expect(editor.field("Word or days, lift row 1")).to_be_hidden()  # a category, not text
        expect(editor.live_check).to_contain_text("No conflicts found with")
        editor.save()
        expect(editor.flash).to_contain_text("Saved 'Feature the star' in the draft")
        expect(editor.field("Pin product, row 1")).to_have_value(product_x)  # stored as its code
        expect(editor.known("pin-0-product")).to_contain_text(title.strip())  # shown by its title
        expect(editor.field("Category, lift row 1")).to_have_value("party")

        editor.open_new()
        editor.field("Name").fill("Tidy shelves")
        editor.pick_product("Find a product to hide", words, product_x)
        expect(editor.field("Hide products (codes)")).to_have_value(product_x)
        warning = editor.live_check.get_by_test_id("conflicts")
        expect(warning).to_contain_text(f"'Tidy shelves' (priority 10) hides product {product_x}")
        expect(warning).to_contain_text("'Feature the star' (priority 60) pins it: the pin wins")
        expect(warning).to_contain_text("Feature the star wins")
        # raised above the pin, the hide wins and the pin would do nothing
        editor.field("Priority (higher wins)").fill("90")
        expect(warning).to_contain_text(f"so the pin of {product_x} by 'Feature the star'")
        expect(warning).to_contain_text("Tidy shelves wins")
        editor.nav("Rules")  # never saved
        expect(page.get_by_role("link", name="Tidy shelves")).to_have_count(0)
    finally:
        _empty_draft(studio_home)


def test_a_merchandiser_moves_and_changes_a_slot_by_its_name(
    shop_server: str, studio_home: Path, page: Page
):
    """As a merchandiser: on category pages I move "Recommended for you" above the listing and
    make it show what is trending, choosing the slot by its title among the slots of the
    pages my rule is for, and the strategy by what it shows, with the keyboard as well as
    the mouse; the preview shows the category page changed."""
    rule = "Trending picks first on category pages"
    editor = RuleEditor(page, shop_server).sign_in("ed", PASSWORD)
    try:
        editor.open_new()
        editor.field("Name").fill(rule)
        editor.check("Page", "category")
        move = editor.field("Move slot, row 1")
        # only the category pages' slots are offered, first
        expect(move.locator('optgroup[data-page="home"]')).to_have_js_property("hidden", True)
        expect(move.locator("optgroup").first).to_have_attribute("label", "Category pages")
        buy_again = move.locator('option[value="buy-again"]')  # on home pages only
        assert buy_again.evaluate("o => o.matches(':disabled')")
        move.focus()  # by keyboard: the first slot of a category page is the listing
        page.keyboard.press("ArrowDown")
        expect(move).to_have_value("listing")
        editor.move(1, "Recommended for you", position=1)
        expect(move).to_have_value("for-you")
        change = editor.field("Change slot, row 1")
        change.focus()  # typing a title's first letters picks it, as in any select
        page.keyboard.type("Rec")
        expect(change).to_have_value("for-you")
        editor.field("New strategy, row 1").select_option(label="Trending near them")
        expect(editor.field("New strategy, row 1")).to_have_value("trending_near_you")
        expect(editor.live_check).to_contain_text("No problems.")
        editor.save()
        expect(editor.flash).to_contain_text(f"Saved '{rule}' in the draft")
        editor.reopen(rule)
        expect(editor.field("Move slot, row 1")).to_have_value("for-you")
        expect(editor.field("Move to position, row 1")).to_have_value("1")
        expect(editor.field("Change slot, row 1")).to_have_value("for-you")
        expect(editor.field("New strategy, row 1")).to_have_value("trending_near_you")
        selected = editor.field("Move slot, row 1").evaluate(
            "s => s.options[s.selectedIndex].parentNode.label"
        )
        assert selected == "Category pages", selected

        preview = PreviewPage(page, shop_server)
        preview.open(**{"Page": "category", "Category (category page)": "christmas"})
        assert preview.slots("draft")[0] == "for-you", preview.slots("draft")
        assert preview.slots("published")[0] == "listing", preview.slots("published")
        expect(preview.frame("draft").locator('section[data-slot="for-you"]')).to_have_attribute(
            "data-strategy", "trending_near_you"
        )
    finally:
        _empty_draft(studio_home)


def test_a_merchandiser_chooses_and_removes_slots_by_their_names(
    shop_server: str, studio_home: Path, page: Page
):
    """As a merchandiser: on category pages I want only "Recommended for you", then the products;
    on the home page, no "Trending near you" nor "In season". I choose and tick the slots by
    their titles, the slots of my rule's pages first, with the keyboard as well as the mouse;
    reopened, my choices are there, and the preview shows both pages changed."""
    editor = RuleEditor(page, shop_server).sign_in("ed", PASSWORD)
    try:
        editor.open_new()
        editor.field("Name").fill("Picks above the listing")
        editor.check("Page", "category")
        # the category pages' slots come first, the one slot they share with home among them
        first = editor.removal.locator("fieldset.slot-group:not([hidden])").first
        expect(first.locator("legend")).to_have_text("Category pages")
        expect(editor.remove_box("Recommended for you", "Category pages")).to_be_visible()
        expect(editor.removal.get_by_role("checkbox", name="Recommended for you")).to_have_count(1)
        editor.only_slots("Recommended for you")
        expect(editor.field("Only these slots, slot 1")).to_have_value("for-you")
        second = editor.field("Only these slots, slot 2")
        second.focus()  # by keyboard: typing a title's first letters picks it
        page.keyboard.type("Pro")
        expect(second).to_have_value("listing")
        expect(editor.live_check).to_contain_text("No problems.")
        editor.save()
        expect(editor.flash).to_contain_text("Saved 'Picks above the listing' in the draft")

        editor.open_new()
        editor.field("Name").fill("Calm home")
        editor.check("Page", "home")
        editor.remove_box("Trending near you", "Home page").check()
        seasonal = editor.remove_box("In season", "Home page")
        seasonal.focus()  # by keyboard: space ticks it
        page.keyboard.press("Space")
        expect(seasonal).to_be_checked()
        expect(editor.removal).to_contain_text("trending · on Home page, Product pages")
        editor.save()
        expect(editor.flash).to_contain_text("Saved 'Calm home' in the draft")

        editor.reopen("Calm home")
        expect(editor.remove_box("Trending near you", "Home page")).to_be_checked()
        expect(editor.remove_box("In season", "Home page")).to_be_checked()
        expect(editor.remove_box("New arrivals", "Home page")).not_to_be_checked()
        editor.reopen("Picks above the listing")
        expect(editor.field("Only these slots, slot 1")).to_have_value("for-you")
        expect(editor.field("Only these slots, slot 2")).to_have_value("listing")
        expect(editor.field("Only these slots, slot 3")).to_have_value("")

        preview = PreviewPage(page, shop_server)
        preview.open(**{"Page": "category", "Category (category page)": "christmas"})
        assert preview.slots("draft") == ["for-you", "listing"], preview.slots("draft")
        assert preview.slots("published")[0] == "listing", preview.slots("published")
        preview.open(**{"Page": "home"})
        home = preview.slots("draft")
        assert "trending" not in home and "seasonal" not in home and home, home
        assert "trending" in preview.slots("published"), preview.slots("published")
    finally:
        _empty_draft(studio_home)


def test_the_rule_form_fits_a_phone(shop_server: str, studio_home: Path, new_page):
    phone = new_page(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True, user_agent=IPHONE_UA
    )
    editor = RuleEditor(phone, shop_server).sign_in("ed", PASSWORD)
    editor.open_new()
    for opened in phone.locator("details").all():  # every part of the form, unfolded
        opened.evaluate("d => d.open = true")
    widths = phone.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 375, widths  # no horizontal scroll
    for control in (
        editor.field("Name"),
        editor.field("Move slot, row 1"),
        editor.field("Change slot, row 1"),
        editor.field("New strategy, row 1"),
        editor.field("Only these slots, slot 1"),
        editor.removal.get_by_text("Recommended for you", exact=True),  # a box's label
        editor.field("Pin product, row 1"),
        editor.field("Pin in slot, row 1"),
        editor.field("Category, lift row 1"),
        phone.get_by_role("button", name="Save to draft"),
    ):
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box and box["height"] >= 44 and box["x"] + box["width"] <= 375, box
    expect(phone.get_by_text("Slot id", exact=True).first).to_be_visible()  # labels on cards


def test_impact_explains_its_sample_of_recent_visits(
    shop_server: str, studio_home: Path, page: Page, new_page
):
    shopper = new_page()
    shopper.goto(shop_server + "/c/christmas")
    shopper.locator('[data-slot="listing"] li.tile a').first.click()  # a visit, in the event log
    shopper.wait_for_load_state("networkidle")
    impact = ImpactPage(page, shop_server).sign_in("vera", PASSWORD).open()

    def sampled() -> int:  # the tracker's beacon may land a moment later
        page.reload()
        first = impact.sample.inner_text().split(" visits sampled", 1)[0].split()
        return int(first[-1]) if first and first[-1].isdigit() else 0

    assert eventually(lambda: sampled() >= 1), impact.sample.inner_text()
    text = impact.sample.inner_text()
    assert "visits sampled from the last 14 days (" in text and "drawn from the" in text
    if sampled() < 30:
        assert "Too few recent visits to judge" in text
    expect(page.get_by_test_id("impact-rules")).to_be_visible()
