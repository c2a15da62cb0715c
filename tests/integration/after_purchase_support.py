"""Shared steps of the after-the-purchase tests, run on the demo and on the grocery store."""

from __future__ import annotations

import re

from tests.helpers import products_in


def buy(client, basket: dict[str, int]) -> tuple[str, str]:
    """Put `basket` in the basket and place the order: (order id, confirmation page HTML)."""
    client.get("/")
    for pid, quantity in basket.items():
        r = client.post("/cart", data={"product_id": pid, "quantity": quantity})
        assert r.status_code == 303, r.get_data(as_text=True)
    r = client.post("/cart/checkout")
    assert r.status_code == 303
    location = r.headers["Location"]
    m = re.fullmatch(r"/order/([0-9a-f]{16})", location)
    assert m, location
    page = client.get(location)
    assert page.status_code == 200
    return m.group(1), page.get_data(as_text=True)


def for_you_products(html: str) -> list[str]:
    return products_in(html, "for-you")


def api_key(app) -> str:
    from storefront.api import keys

    return keys.create(app.extensions["db"], "transactional email")


def _recap_rows(html: str) -> dict[str, tuple[str, str, str]]:
    recap = re.search(r'data-testid="order-recap".*?</section>', html, re.S).group(0)
    rows = re.findall(
        r'<tr data-product-id="([^"]+)">\s*<td>.*?</td>\s*<td>([^<]*)</td>\s*<td>(\d+)</td>'
        r"\s*<td>([^<]*)</td>",
        recap,
        re.S,
    )
    return {pid: (price, q, sub) for pid, price, q, sub in rows}


def check_confirmation(app, html: str, basket: dict[str, int]) -> None:
    """The recap (lines, quantities, prices and total in the shop's currency), and what goes
    with it, never the products just bought; nothing the catalog does not show."""
    from storefront.catalog import format_money

    catalog = app.extensions["models"].get().catalog
    rows = _recap_rows(html)
    assert set(rows) == set(basket)
    total = 0.0
    for pid, quantity in basket.items():
        product = catalog.get(pid)
        price, q, sub = rows[pid]
        assert int(q) == quantity
        assert price == format_money(product.price, catalog.currency)
        assert sub == format_money(product.price * quantity, catalog.currency)
        total += product.price * quantity
    shown_total = re.search(r'data-testid="order-total">([^<]*)<', html).group(1)
    assert shown_total == format_money(round(total, 2), catalog.currency)
    count = sum(basket.values())
    assert f"order of {count} item{'s' if count != 1 else ''} is placed" in html
    goes = products_in(html, "goes-with-order")
    assert goes, "what goes with it"
    assert not set(goes) & set(basket)
    assert all(catalog.get(p) is not None for p in goes)
    assert "you just bought" in html


def check_followup_fragment(app, caller, key: str, order_id: str, basket: dict[str, int]) -> str:
    """The email fragment: recap, what goes with it, due-again; email-safe (inline styles,
    absolute links on the public URL, no script, no stylesheet, no relative link)."""
    r = caller.get(
        "/api/v1/fragments/order-followup",
        query_string={"order": order_id},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/html" and "no-store" in r.headers["Cache-Control"]
    html = r.get_data(as_text=True)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "class=" not in html  # inline styles only: mail clients drop stylesheets
    hrefs = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    recap = re.findall(r'data-recap-product="([^"]+)"[^>]*>.*?data-quantity="(\d+)"', html, re.S)
    assert {p: int(q) for p, q in recap} == basket
    goes = re.findall(r'data-product-id="([^"]+)"', html)
    assert goes and not set(goes) & set(basket)
    catalog = app.extensions["models"].get().catalog
    assert all(catalog.get(p) is not None for p in goes)
    return html


def check_followup_refusals(app, caller, key: str, case: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    if case == "no-key":
        r = caller.get("/api/v1/fragments/order-followup", query_string={"order": "0" * 16})
        assert r.status_code == 401, r.get_data(as_text=True)
        assert "Authorization" in r.get_data(as_text=True)
    elif case == "bad-key":
        r = caller.get(
            "/api/v1/fragments/order-followup",
            query_string={"order": "0" * 16},
            headers={"Authorization": "Bearer sfk_nope.nope"},
        )
        assert r.status_code == 401
    elif case == "bad-order":
        for bad in ("<script>", "abc", "0" * 17, ""):
            r = caller.get(
                "/api/v1/fragments/order-followup", query_string={"order": bad}, headers=auth
            )
            assert r.status_code == 400, (bad, r.status_code)
            assert "order" in r.get_data(as_text=True)
    elif case == "unknown-order":
        r = caller.get(
            "/api/v1/fragments/order-followup", query_string={"order": "f" * 16}, headers=auth
        )
        assert r.status_code == 404 and "order" in r.get_data(as_text=True)
    elif case == "missing":
        r = caller.get("/api/v1/fragments/order-followup", headers=auth)
        assert r.status_code == 400 and "order" in r.get_data(as_text=True)
