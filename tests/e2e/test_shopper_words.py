"""End to end, as a shopper reads the shop: counts in the right plural, an approximate price in
my own currency (while I pay in the shop's), a search that reads words, a privacy note that
says what I switched off, what the shop inferred about me on /me, and signing in with my
customer number as I typed it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.pages import CategoryPage, HomePage, ProductPage, ShopPage

pytestmark = pytest.mark.e2e


class MePage(ShopPage):
    """``/me``: what the shop inferred, and my switches."""

    path = "/me"

    def switch(self, label: str) -> MePage:
        self.page.get_by_role("button", name=label).first.click()
        self.page.wait_for_url(re.compile(r"/me$"))
        return self

    def signal_switch(self, signal: str, label: str) -> MePage:
        row = self.page.locator(f'[data-signal-state="{signal}"]').locator("xpath=..")
        row.get_by_role("button", name=label).click()
        self.page.wait_for_url(re.compile(r"/me$"))
        return self

    @property
    def basket(self) -> Locator:
        return self.page.get_by_test_id("basket-count")


def _agrees(text: str, word: str) -> None:
    """The number before `word` and the word's form agree: "1 result", "2 results"."""
    m = re.search(rf"(\d[\d,]*) ({word}s?)\b", text)
    assert m, text
    n = int(m.group(1).replace(",", ""))
    assert m.group(2) == (word if n == 1 else word + "s"), text


def test_one_item_in_my_basket_is_one_item(shop_server: str, page: Page):
    product = HomePage(page, shop_server).goto().open_product("trending")
    pid = product.product_id
    product.add_to_cart(1)
    me = MePage(page, shop_server).goto()
    expect(me.basket).to_have_text("Basket: 1 item.")
    ProductPage(page, shop_server).open(pid).add_to_cart(1)
    expect(MePage(page, shop_server).goto().basket).to_have_text("Basket: 2 items.")


def test_counts_and_words_agree_on_search_and_category_pages(shop_server: str, page: Page):
    results = HomePage(page, shop_server).goto().search("heart")
    _agrees(results.heading.inner_text(), "result")
    results.open_product("results")
    slug = page.locator(".breadcrumb a").last.get_attribute("href").rsplit("/", 1)[1]
    category = CategoryPage(page, shop_server).open(slug)
    _agrees(category.heading.inner_text(), "product")


def test_search_finds_words_not_the_digits_inside_junk_i_pasted(shop_server: str, page: Page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    home = HomePage(page, shop_server).goto()
    junk = home.search("<script>alert(1)</script>")
    expect(junk.heading).to_contain_text("0 results for")  # not the products with a "1" in them
    expect(junk.heading).to_contain_text("<script>alert(1)</script>")  # shown as I typed it
    assert junk.result_ids() == [] and dialogs == []  # and nothing ran
    words = junk.search("<b>red</b> heart")  # markup around real words: the words count
    assert words.result_ids()
    assert all("heart" in t.lower() for t in words.result_titles())


def test_a_price_in_my_currency_beside_the_shops_and_i_pay_in_the_shops(
    shop_server: str, page: Page
):
    home = HomePage(page, shop_server).goto(country="GB")
    pid = home.product_ids_in("trending")[0]
    product = ProductPage(page, shop_server).open(pid, country="GB")
    expect(page.get_by_test_id("approx-price")).to_have_count(0)  # the shop's own currency
    shop_price = product.article.locator(".price").inner_text()
    product = ProductPage(page, shop_server).open(pid, country="IE")
    approx = page.get_by_test_id("approx-price")
    expect(approx).to_have_text(re.compile(r"^≈ €\d+\.\d\d$"))
    assert shop_price in product.article.locator(".price").inner_text()
    ProductPage(page, shop_server).open(pid, country="DE")
    expect(approx).to_have_text(re.compile(r"^≈ \d+,\d\d\s€$"))  # German formatting
    ProductPage(page, shop_server).open(pid, country="JP")
    expect(approx).to_have_count(0)  # no rate configured for yen
    cart = ProductPage(page, shop_server).open(pid, country="IE").add_to_cart(2)
    total = cart.table.locator("tfoot").inner_text()
    assert "≈" not in total and "€" not in total, total
    assert "≈" not in cart.table.inner_text()


def test_the_privacy_note_says_what_i_switched_off(shop_server: str, page: Page):
    MePage(page, shop_server).goto().signal_switch("history", "Turn off")
    home = HomePage(page, shop_server).goto()
    note = home.signal("consent")
    assert "None" not in note
    assert note == "You switched browsing history off: nothing from your history is used"
    MePage(page, shop_server).goto().switch("Switch personalization off")
    note = HomePage(page, shop_server).goto().signal("consent")
    assert note == "You switched personalization off: nothing from your history is used"


def test_i_sign_in_with_spaces_around_my_number_and_two_visits_are_not_disinterest(
    shop_server: str, page: Page
):
    page.goto(shop_server + "/account")
    customer = page.locator("code").first.inner_text().strip()
    page.get_by_label("Customer number").fill(f"  {customer}  ")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(me\?holdout=joined)?$"))
    page.goto(shop_server + "/account")
    expect(page.get_by_label("Customer number")).to_have_value(customer)  # signed in as me
    for _ in range(2):  # two looks at the home page, no clicks
        HomePage(page, shop_server).goto(country="GB")
    me = MePage(page, shop_server).goto()
    traits = page.get_by_test_id("traits")
    expect(traits).to_be_visible()
    expect(traits).not_to_contain_text("don't seem interested")
    segment = page.locator('[data-trait="segment"] strong')
    if segment.count():  # my segment reads as words, not as "mixed-range … (mid)"
        name = segment.inner_text()
        assert "mixed-range" not in name.lower() and "(" not in name, name
    assert me.page.url.endswith("/me")
