"""Small readers of the shop's HTML for integration tests (the QA hooks: data-slot, data-product-id,
data-signal)."""

from __future__ import annotations

import re


def slots(html: str) -> list[str]:
    return re.findall(r'data-slot="([^"]+)"', html)


def products_in(html: str, slot_id: str) -> list[str]:
    m = re.search(rf'<section[^>]*data-slot="{slot_id}".*?</section>', html, re.S)
    return re.findall(r'<li class="tile" data-product-id="([^"]+)"', m.group(0)) if m else []


def heading(html: str, slot_id: str) -> str:
    m = re.search(rf'<h2 id="h-{slot_id}"[^>]*>([^<]*)<', html)
    return m.group(1) if m else ""


def signal(html: str, name: str) -> str:
    m = re.search(rf'data-signal="{name}">(.*?)</dd>', html, re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)) if m else ""


# the grocery test store's order columns, for `storefront import orders --map`
GROCERY_ORDER_MAP = (
    "invoice=order_id product_id=sku title=product_name quantity=qty price=unit_price "
    "ts=created customer_id=customer country=country_code"
).split()


def grocery_orders(orders_csv, out):
    """The grocery store's orders with ISO times instead of unix seconds (reading those is the
    orders importer's business, not a catalog test's), and the --map arguments to import them:
    (path, args, the order lines as a DataFrame)."""
    import pandas as pd

    orders = pd.read_csv(orders_csv, dtype=str)
    seconds = orders["created"].astype(int)
    orders["created"] = pd.to_datetime(seconds, unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
    orders.to_csv(out, index=False)
    args = [a for pair in GROCERY_ORDER_MAP for a in ("--map", pair)]
    return out, args, orders
