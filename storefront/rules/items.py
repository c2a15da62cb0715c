"""A slot's item policy applied to its strategy's picks: hide, boost or bury, then pin.

Runs inside fragments.render_slots after strategy.pick and before rendering; the policy's
digest is part of the fragment key, so a cached rail always carries its policy. The shopper's
own choices still win: a pin never shows a product from a category the shopper avoids.
"""

from __future__ import annotations

from datetime import timedelta

from storefront.catalog import Catalog, Product, tokens
from storefront.rules.apply import SlotPolicy
from storefront.strategies import Pick

PINNED_REASON = "Featured by our team"


def _lift_matches(p: Product, attr: str, value: str, newest) -> bool:
    if attr == "category":  # any level of the taxonomy: "dairy" lifts its cheeses too
        return value in p.category_path
    if attr == "price_band":
        return p.band == value
    if attr == "tag":
        return value in tokens(p.title)
    if attr == "new_days":
        if p.first_sold is None or newest is None:
            return False
        return p.first_sold >= newest - timedelta(days=int(value))
    return False


def _newest(catalog: Catalog):
    """ "New" is measured against the catalog's own newest product, so it means the same on
    historic demo data as on a live shop."""
    if not catalog.new_arrivals:
        return None
    return catalog.products[catalog.new_arrivals[0]].first_sold


def apply(
    picks: list[Pick],
    policy: SlotPolicy,
    catalog: Catalog,
    avoid: frozenset[str] = frozenset(),
    first_page: bool = True,
) -> list[Pick]:
    """The picks with the policy applied (the list may grow by the pinned products)."""

    def hidden(pid: str) -> bool:
        if pid in policy.exempt:
            return False
        p = catalog.get(pid)
        return pid in policy.hide_products or (p is not None and p.in_any(policy.hide_categories))

    out = [p for p in picks if not hidden(p.product_id)]
    if policy.lifts:
        newest = _newest(catalog)

        def weight(pick: Pick) -> int:
            p = catalog.get(pick.product_id)
            if p is None:
                return 0
            return sum(w for a, v, w in policy.lifts if _lift_matches(p, a, v, newest))

        out.sort(key=lambda pick: -weight(pick))  # stable: the strategy's order within a tier
    if not policy.pins or not first_page:
        return out
    placed: dict[int, Pick] = {}
    for pid, position in policy.pins:
        p = catalog.get(pid)
        if p is None or p.in_any(avoid):
            continue
        at = position - 1
        while at in placed:  # a lower-ranked pin for the same position goes just after
            at += 1
        placed[at] = Pick(pid, 1.0, PINNED_REASON)
    pinned = {p.product_id for p in placed.values()}
    rest = iter(p for p in out if p.product_id not in pinned)
    merged: list[Pick] = []
    for i in range(len(out) + len(placed)):
        if i in placed:
            merged.append(placed[i])
        else:
            nxt = next(rest, None)
            if nxt is not None:
                merged.append(nxt)
    merged += [placed[i] for i in sorted(placed) if i >= len(out) + len(placed)]
    return merged
