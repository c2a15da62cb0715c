"""Render a shop page for a synthetic visitor under a given rule set (the draft or the
published one), through the same composition as a shopper's page, without touching the shop's
fragment cache. Used by the studio's side-by-side preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from storefront.context import Context
from storefront.fragments import Rendered, Timings, render_slots
from storefront.layouts import layout_for
from storefront.model_holder import Snapshot
from storefront.pages import one_page_no_repeats
from storefront.rules.holder import Published
from storefront.rules.matching import Reason, facts_for, why
from storefront.rules.serving import PagePlan, plan_page

TEMPLATES = {
    "home": "shop/home.html",
    "category": "shop/category.html",
    "product": "shop/product.html",
    "search": "shop/search.html",
    "cart": "shop/cart.html",
}


class NoCache:
    """A fragment cache that always misses and keeps nothing: previews never pollute (or
    read) what shoppers get."""

    def mget(self, keys):
        return [None] * len(keys)

    def pipeline(self, transaction: bool = False):
        return self

    def set(self, *args, **kwargs):
        return self

    def execute(self):
        return []


@dataclass(frozen=True)
class RuleWhy:
    name: str
    priority: int
    matched: bool
    reasons: list[Reason]


@dataclass(frozen=True)
class PreviewSide:
    label: str
    html: str
    plan: PagePlan
    slots: list[Rendered]
    rules: list[RuleWhy]

    @property
    def slot_ids(self) -> list[str]:
        return [r.slot.id for r in self.slots]


def template_vars(page: str, page_args: dict[str, Any], ctx: Context, snap: Snapshot) -> dict:
    from storefront.shop.views import CartForm

    catalog = snap.catalog
    if page == "category":
        slug = page_args["category"]
        return {
            "category_slug": slug,
            "category_name": catalog.category_name(slug),
            "page_no": 1,
            "total": len(catalog.by_category.get(slug, [])),
        }
    if page == "product":
        pid = page_args["product_id"]
        return {"product": catalog.get(pid), "form": CartForm(product_id=pid)}
    if page == "search":
        q = page_args["query"]
        return {"query": q, "page_no": 1, "total": len(catalog.search(q))}
    if page == "cart":
        lines = [
            (catalog.products[p], q) for p, q in ctx.session.cart.items() if p in catalog.products
        ]
        return {"lines": lines, "total": sum(p.price * q for p, q in lines), "form": CartForm()}
    return {}


def render_side(
    page: str,
    page_args: dict[str, Any],
    ctx: Context,
    snap: Snapshot,
    rules: Published,
    title: str,
) -> PreviewSide:
    settings = current_app.config["SETTINGS"]
    base = layout_for(page, ctx.compact, settings.rail_size, settings.compact_rail_size)
    plan = plan_page(page, page_args, ctx, snap, base, rules=rules)
    rendered = render_slots(
        NoCache(),  # type: ignore[arg-type]
        plan.layout.slots,
        ctx,
        snap,
        page,
        page_args,
        rules.label,
        Timings(),
        policies=plan.policies,
    )
    shown = {page_args["product_id"]} if "product_id" in page_args else set()
    slots = one_page_no_repeats(rendered, shown)
    html = render_template(
        TEMPLATES[page],
        ctx=ctx,
        page=page,
        slots=slots,
        catalog=snap.catalog,
        model_version=snap.model_version,
        **template_vars(page, page_args, ctx, snap),
    )
    facts = facts_for(ctx, page, page_args, snap.catalog)
    tz = settings.store_timezone
    explained = []
    for rule in rules.rules:
        ok, reasons = why(rule, facts, tz)
        explained.append(RuleWhy(rule.name, rule.priority, ok, reasons))
    explained.sort(key=lambda r: (not r.matched, -r.priority, r.name.casefold()))
    return PreviewSide(title, html, plan, slots, explained)
