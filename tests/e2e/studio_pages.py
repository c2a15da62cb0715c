"""Page objects for the merchandiser studio (/admin), read through roles, labels and test ids."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect


class Studio:
    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base = base_url.rstrip("/")

    def sign_in(self, username: str, password: str) -> Studio:
        self.page.goto(self.base + "/admin/login")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_test_id("who")).to_contain_text(username)
        return self

    def nav(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Studio").get_by_role("link", name=name).click()

    @property
    def flash(self) -> Locator:
        return self.page.locator(".flash")

    @property
    def problems(self) -> Locator:
        return self.page.get_by_test_id("problems")

    def csrf_token(self) -> str:
        return self.page.locator('form.who input[name="csrf_token"]').get_attribute("value") or ""


class RuleEditor(Studio):
    """The rule form: conditions and effects without YAML."""

    def open_new(self) -> RuleEditor:
        self.nav("Rules")
        self.page.get_by_role("link", name="New rule").click()
        return self

    def field(self, label: str) -> Locator:
        return self.page.get_by_label(label, exact=True)

    def check(self, group: str, *values: str) -> None:
        box = self.page.get_by_role("group", name=group, exact=True)
        for v in values:
            box.get_by_label(v, exact=True).check()

    def add_slot(
        self,
        row: int,
        slot_id: str,
        strategy: str,
        title: str,
        category: str = "",
        position: int = 0,
    ) -> None:
        self.field(f"Slot id, row {row}").fill(slot_id)
        self.field(f"Strategy, row {row}").select_option(strategy)
        self.field(f"Title, row {row}").fill(title)
        if category:
            self.field(f"Category, row {row}").select_option(category)
        if position:
            self.field(f"Add position, row {row}").fill(str(position))

    def pin(self, row: int, product: str, slot: str = "", position: int = 0) -> None:
        """A pin row; its slot is chosen in the picker by the slot's title (as shoppers see it)."""
        self.field(f"Pin product, row {row}").fill(product)
        if slot:
            self.field(f"Pin in slot, row {row}").select_option(label=slot)
        if position:
            self.field(f"Pin position, row {row}").fill(str(position))

    def move(self, row: int, slot: str, position: int = 0) -> None:
        """A move row; its slot is chosen in the picker by the slot's title."""
        self.field(f"Move slot, row {row}").select_option(label=slot)
        if position:
            self.field(f"Move to position, row {row}").fill(str(position))

    def only_slots(self, *titles: str) -> None:
        """ "Only these slots, in this order": one slot a row, chosen by its title."""
        for i, title in enumerate(titles, 1):
            self.field(f"Only these slots, slot {i}").select_option(label=title)

    @property
    def removal(self) -> Locator:
        """ "Remove slots": a box per slot, by its title, in groups by page type."""
        return self.page.get_by_role("group", name="Remove slots", exact=True)

    def remove_box(self, title: str, page_group: str = "") -> Locator:
        where = self.removal.get_by_role("group", name=page_group) if page_group else self.removal
        return where.get_by_role("checkbox", name=title, exact=True)

    def pick_product(self, finder: str, words: str, product_id: str) -> None:
        """Type words of a product's name into a picker and choose it among the matches."""
        box = self.page.get_by_role("combobox", name=finder)
        box.fill(words)
        listbox = self.page.get_by_role("listbox", name=f"{finder}: matching products")
        option = listbox.get_by_role("option").filter(has_text=product_id)
        expect(option).to_be_visible()
        option.click()

    def lift(self, row: int, direction: str, attribute: str, category: str = "") -> None:
        """A boost or bury row; a category is picked from the taxonomy by its label."""
        self.field(f"Boost or bury, row {row}").select_option(label=direction)
        self.field(f"Attribute, row {row}").select_option(label=attribute)
        if category:
            self.field(f"Category, lift row {row}").select_option(label=category)

    def reopen(self, name: str) -> None:
        """The saved rule, opened again from the rules list."""
        self.nav("Rules")
        self.page.get_by_role("link", name=name, exact=True).click()

    def known(self, field_id: str) -> Locator:
        """What the form says a field's product codes are (their titles, or that they left)."""
        return self.page.get_by_test_id(f"known-{field_id}")

    @property
    def live_check(self) -> Locator:
        return self.page.locator("#live-check")

    def save(self) -> None:
        self.page.get_by_role("button", name="Save to draft").click()


class PreviewPage(Studio):
    def open(self, **params: str) -> PreviewPage:
        self.nav("Preview")
        form = self.page.get_by_test_id("preview-form")
        for label, value in params.items():
            field = form.get_by_label(label, exact=True)
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        form.get_by_role("button", name="Preview").click()
        expect(self.page.get_by_test_id("preview-draft")).to_be_visible()
        return self

    def slots(self, which: str) -> list[str]:
        return (
            self.page.get_by_test_id(f"slots-{which}")
            .locator("li")
            .evaluate_all("els => els.map(e => e.dataset.slot)")
        )

    def slot_line(self, which: str, slot: str) -> Locator:
        return self.page.get_by_test_id(f"slots-{which}").locator(f'li[data-slot="{slot}"]')

    def rule(self, which: str, name: str) -> Locator:
        return self.page.get_by_test_id(f"preview-{which}").locator(f'li[data-rule="{name}"]')

    def frame(self, which: str):
        return self.page.frame_locator(f'[data-testid="frame-{which}"]')


class ImpactPage(Studio):
    def open(self) -> ImpactPage:
        self.nav("Impact")
        return self

    @property
    def sample(self) -> Locator:
        return self.page.get_by_test_id("impact-sample")


class PublishPage(Studio):
    def open(self) -> PublishPage:
        self.nav("Publish")
        return self

    def publish(self, note: str) -> None:
        self.page.get_by_label("What changed (for the history)").fill(note)
        self.page.get_by_role("button", name="Publish").click()
        expect(self.flash).to_contain_text("Published v")


class YamlPage(Studio):
    def open(self) -> YamlPage:
        self.nav("YAML")
        return self

    @property
    def text(self) -> Locator:
        return self.page.get_by_test_id("yaml")

    def replace(self, yaml: str) -> None:
        self.text.fill(yaml)
        self.page.get_by_role("button", name="Replace the draft").click()


class ExperimentsPage(Studio):
    """The experiments list, the new-experiment form and an experiment's page."""

    def open(self) -> ExperimentsPage:
        self.nav("Experiments")
        return self

    def create(
        self, name: str, page: str, slot: str, arms: list[tuple[str, int, str]], metric: str
    ) -> None:
        self.page.get_by_role("link", name="New experiment").click()
        self.page.get_by_label("Name", exact=True).fill(name)
        self.page.get_by_label("It compares").select_option("strategy")
        self.page.get_by_label("On the page").select_option(page)
        self.page.get_by_label("Slot (strategy experiments)").select_option(slot)
        self.page.get_by_label("Primary metric").select_option(metric)
        for i, (arm, share, serves) in enumerate(arms, 1):
            self.page.get_by_label(f"Arm {i} name").fill(arm)
            self.page.get_by_label(f"Arm {i} share").fill(str(share))
            self.page.get_by_label(f"Arm {i} serves").fill(serves)
        self.page.get_by_role("button", name="Create as draft").click()
        expect(self.flash).to_contain_text("as a draft")

    def press(self, button: str) -> None:
        """Start or Stop, accepting the confirmation the studio asks for."""
        self.page.once("dialog", lambda d: d.accept())
        self.page.get_by_role("button", name=button, exact=True).click()
        expect(self.flash).to_contain_text(f"{button}ped" if button == "Stop" else "Started")

    @property
    def status(self) -> Locator:
        return self.page.get_by_test_id("status")


class HoldoutPage(Studio):
    """The holdout report: personalized visitors against the non-personalized holdout."""

    def open(self) -> HoldoutPage:
        self.nav("Holdout")
        expect(self.page.get_by_role("heading", name="Personalization vs holdout")).to_be_visible()
        return self

    def choose_days(self, days: int) -> None:
        form = self.page.get_by_test_id("days-form")
        form.get_by_label("Period").select_option(label=f"last {days} days")
        form.get_by_role("button", name="Show").click()
        expect(self.page.get_by_test_id("period")).to_contain_text(f"the last {days} days")

    def choose_dates(self, first: str, last: str) -> None:
        form = self.page.get_by_test_id("dates-form")
        form.get_by_label("From").fill(first)
        form.get_by_label("To").fill(last)
        form.get_by_role("button", name="Show these dates").click()

    def cell(self, group: str, column: str) -> str:
        row = self.page.get_by_test_id("holdout-results").locator(f'tr[data-group="{group}"]')
        return row.locator(f'td[data-col="{column}"]').inner_text()

    def download_csv(self) -> str:
        with self.page.expect_download() as info:
            self.page.get_by_test_id("holdout-csv").click()
        return Path(info.value.path()).read_text(encoding="utf-8")
