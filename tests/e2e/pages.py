"""Page objects for the shop's end-to-end tests.

Each object wraps a Playwright ``Page`` and the shop's base URL, and reads the page through its
QA hooks: ``section[data-slot]`` for slots, ``[data-product-id]`` for tiles, ``[data-signal]``
in the footer's context panel, test ids and roles for everything else. Example::

    home = HomePage(page, shop_server).goto(country="DE", time="2011-12-05T19:30")
    assert "trending" in home.slot_ids()
    product = home.open_product("trending")           # clicks the first tile
    product.add_to_cart(2)                             # -> CartPage
    expect(home.signal_locator("device")).to_have_text("desktop")

Methods that return text read the page as it is now; for waiting assertions use the
``Locator``-returning ones with ``playwright.sync_api.expect``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import Locator, Page, Response, expect

DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
# Context options for Browser.new_context / the new_page factory. Headless Chromium's own UA
# says "HeadlessChrome", which the shop classifies as a bot, so pages always state a UA.
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "user_agent": DESKTOP_UA}
IPHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": IPHONE_UA,
}


def is_view_event(product_id: str) -> Callable[[Response], bool]:
    """A predicate for ``page.expect_response``: the tracker's POST /events sent from the page
    of ``product_id`` (its product view). Beacon bodies are not visible to Playwright, so the
    request is told apart by its Referer (the page that sent it)::

        with page.expect_response(is_view_event(pid)) as event:
            home.open_product("trending", pid)
        assert event.value.status == 202
    """

    def matches(response: Response) -> bool:
        request = response.request
        referer = urlsplit(request.headers.get("referer", "")).path
        return (
            request.method == "POST"
            and urlsplit(response.url).path == "/events"
            and referer == f"/p/{product_id}"
        )

    return matches


class ShopPage:
    """What every shop page has: the header (brand, search, basket), slots, the context panel."""

    path = "/"

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url.rstrip("/")

    # ---- navigation ----

    def goto(
        self,
        path: str | None = None,
        *,
        country: str | None = None,
        time: str | None = None,
        **params: str | int,
    ) -> Self:
        """Open ``path`` (default: this page type's path). ``country`` / ``time`` become the QA
        overrides ``qa_country`` / ``qa_time`` (the server needs STOREFRONT_QA_OVERRIDES=1);
        they apply to this request only, not to pages reached from it by clicking."""
        query = dict(params)
        if country:
            query["qa_country"] = country
        if time:
            query["qa_time"] = time
        url = self.base_url + (path or self.path)
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        self.page.goto(url)
        return self

    @property
    def brand_link(self) -> Locator:
        return self.page.locator("header").get_by_role("link", name="Storefront", exact=True)

    def go_home(self) -> HomePage:
        """Back to the home page through the header's brand link."""
        self.brand_link.click()
        self.page.wait_for_url(self.base_url + "/")
        return HomePage(self.page, self.base_url)

    @property
    def search_box(self) -> Locator:
        return self.page.get_by_role("searchbox", name="Search products")

    def search(self, query: str) -> SearchPage:
        """Search through the header's form (as a shopper types it)."""
        self.search_box.fill(query)
        self.page.get_by_role("search").get_by_role("button", name="Search").click()
        self.page.wait_for_url(re.compile(r"/search\?"))
        return SearchPage(self.page, self.base_url)

    @property
    def basket_link(self) -> Locator:
        """The header's "Basket (n)" link."""
        return self.page.get_by_test_id("cart-link")

    def basket_count(self) -> int:
        m = re.search(r"\((\d+)\)", self.basket_link.inner_text())
        return int(m.group(1)) if m else 0

    def is_compact(self) -> bool:
        """True when the shop chose the phone layout (``<body class="compact">``)."""
        return "compact" in (self.page.locator("body").get_attribute("class") or "").split()

    # ---- slots and tiles ----

    def slot(self, slot_id: str) -> Locator:
        """The ``<section data-slot=slot_id>`` (count 0 when the page has no such slot)."""
        return self.page.locator(f'section[data-slot="{slot_id}"]')

    def slot_ids(self) -> list[str]:
        """The page's slots, in page order."""
        return self.page.locator("section[data-slot]").evaluate_all(
            "els => els.map(e => e.dataset.slot)"
        )

    def slot_title(self, slot_id: str) -> str:
        """A slot's heading (grids have a visually hidden one)."""
        return (self.slot(slot_id).locator("h2").text_content() or "").strip()

    def tiles(self, slot_id: str) -> Locator:
        return self.slot(slot_id).locator("li.tile[data-product-id]")

    def tile(self, slot_id: str, product_id: str) -> Locator:
        return self.slot(slot_id).locator(f'li.tile[data-product-id="{product_id}"]')

    def product_ids_in(self, slot_id: str) -> list[str]:
        return self.tiles(slot_id).evaluate_all("els => els.map(e => e.dataset.productId)")

    def titles_in(self, slot_id: str) -> list[str]:
        return [t.strip() for t in self.tiles(slot_id).locator(".tile-title").all_inner_texts()]

    def open_product(self, slot_id: str, product_id: str | None = None) -> ProductPage:
        """Click a tile's link (the first tile unless ``product_id``) and land on its page."""
        tile = self.tile(slot_id, product_id) if product_id else self.tiles(slot_id).first
        pid = product_id or tile.get_attribute("data-product-id")
        tile.locator("a.tile-link").click()
        self.page.wait_for_url(f"**/p/{pid}")
        return ProductPage(self.page, self.base_url)

    def why(self, slot_id: str, product_id: str) -> Locator:
        """The tile's "Why this?" ``<details>``."""
        return self.tile(slot_id, product_id).locator("details.why")

    def reason_for(self, slot_id: str, product_id: str) -> str:
        """Open the tile's "Why this?" details (by clicking its summary) and return the reason."""
        details = self.why(slot_id, product_id)
        if details.get_attribute("open") is None:
            details.get_by_text("Why this?").click()
        expect(details).to_have_attribute("open", "")
        return details.locator("p").inner_text().strip()

    # ---- the context panel ----

    @property
    def context_panel(self) -> Locator:
        return self.page.get_by_test_id("context")

    def signal_locator(self, name: str) -> Locator:
        """One signal of the context panel: location, time, daypart, season, device, channel,
        session, and consent / override when present."""
        return self.context_panel.locator(f'[data-signal="{name}"]')

    def signal(self, name: str) -> str:
        """The text of one context signal, e.g. ``signal("device") == "mobile"``."""
        return " ".join(self.signal_locator(name).inner_text().split())


class HomePage(ShopPage):
    path = "/"


class ProductPage(ShopPage):
    """``/p/<id>``: the product, an add-to-basket form, and its slots (similar, ...)."""

    def open(self, product_id: str, **kwargs: str) -> Self:
        return self.goto(f"/p/{product_id}", **kwargs)

    @property
    def article(self) -> Locator:
        return self.page.get_by_test_id("product")

    @property
    def title(self) -> str:
        return self.article.get_by_role("heading", level=1).inner_text().strip()

    @property
    def product_id(self) -> str:
        return self.article.get_attribute("data-product-id") or ""

    def add_to_cart(self, quantity: int = 1) -> CartPage:
        """Add ``quantity`` to the basket; the shop answers with the basket page."""
        self.article.get_by_label("Quantity").fill(str(quantity))
        self.article.get_by_role("button", name="Add to basket").click()
        self.page.wait_for_url("**/cart")
        return CartPage(self.page, self.base_url)


class CategoryPage(ShopPage):
    """``/c/<slug>``: the listing grid (slot ``listing``) and recommendations."""

    def open(self, slug: str, **kwargs: str) -> Self:
        return self.goto(f"/c/{slug}", **kwargs)

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def listing_ids(self) -> list[str]:
        return self.product_ids_in("listing")


class SearchPage(ShopPage):
    """``/search?q=``: the results grid (slot ``results``); search() is on every page."""

    path = "/search"

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def result_ids(self) -> list[str]:
        return self.product_ids_in("results")

    def result_titles(self) -> list[str]:
        return self.titles_in("results")


@dataclass(frozen=True)
class CartLine:
    product_id: str
    title: str
    quantity: int


class CartPage(ShopPage):
    """``/cart``: the basket's lines and the ``complements`` slot ("Goes with your basket")."""

    path = "/cart"

    @property
    def table(self) -> Locator:
        return self.page.get_by_test_id("cart")

    def lines(self) -> list[CartLine]:
        out = []
        for row in self.table.locator("tbody tr[data-product-id]").all():
            out.append(
                CartLine(
                    product_id=row.get_attribute("data-product-id") or "",
                    title=row.get_by_role("link").inner_text().strip(),
                    quantity=int(row.get_by_role("spinbutton").input_value()),
                )
            )
        return out

    def place_order(self) -> OrderPage:
        """Press "Place order"; the shop answers with the order's confirmation."""
        self.page.get_by_role("button", name="Place order").click()
        self.page.wait_for_url(re.compile(r"/order/[0-9a-f]{16}$"))
        return OrderPage(self.page, self.base_url)


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    title: str
    price: str
    quantity: int
    subtotal: str


class OrderPage(ShopPage):
    """``/order/<id>``: the confirmation: the recap, when it will be due again, and the
    ``goes-with-order`` slot ("Goes with what you just bought")."""

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    @property
    def recap(self) -> Locator:
        return self.page.get_by_test_id("order-recap")

    @property
    def due_again(self) -> Locator:
        return self.page.get_by_test_id("due-again")

    @property
    def order_id(self) -> str:
        return self.page.get_by_test_id("order-id").inner_text().strip()

    def lines(self) -> list[OrderLine]:
        out = []
        for row in self.recap.locator("tbody tr[data-product-id]").all():
            cells = [c.inner_text().strip() for c in row.get_by_role("cell").all()]
            out.append(
                OrderLine(
                    product_id=row.get_attribute("data-product-id") or "",
                    title=cells[0],
                    price=cells[1],
                    quantity=int(cells[2]),
                    subtotal=cells[3],
                )
            )
        return out

    def total(self) -> str:
        return self.page.get_by_test_id("order-total").inner_text().strip()
