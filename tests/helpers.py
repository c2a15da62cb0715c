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
