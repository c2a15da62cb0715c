"""Render a shop page for a synthetic visitor under a given rule set (the draft or the
published one), through the one plan and compose a shopper's page goes through, without
touching the shop's fragment cache. Used by the studio's side-by-side preview: for the same
persona, time and rules version its page HTML is the shop's, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import current_app, render_template

from storefront.context import Context
from storefront.core.compose import Composed, compose
from storefront.core.plan import PagePlan, make_plan
from storefront.core.ports import NoCache, NoExposures
from storefront.core.snapshot import Snapshot
from storefront.fragments import Rendered, render_html
from storefront.rules.holder import Published
from storefront.rules.matching import Reason, facts_for, why

TEMPLATES = {
    "home": "shop/home.html",
    "category": "shop/category.html",
    "product": "shop/product.html",
    "search": "shop/search.html",
    "cart": "shop/cart.html",
}


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

    @property
    def composed(self) -> list[Composed]:
        return [r.composed for r in self.slots if r.composed is not None]


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
        return {"product": catalog.get(pid)}
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
    # trending reads the live window as the shop does at the persona's time
    ctx = replace(ctx, live_epoch=int(ctx.time.local.timestamp() // settings.trending_refresh))
    plan = make_plan(page, page_args, ctx, snap, rules, settings)
    trends = current_app.extensions["trends"]
    slots = render_html(
        compose(plan, ctx, page_args, settings, NoCache(), NoExposures(), trends=trends),
        page,
        snap.catalog,
        ctx.compact,
    )
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


def tiles(side: PreviewSide) -> dict[str, list[str]]:
    """Each slot's products as the preview lists them; a pinned one names the rule that won."""
    out = {}
    for c in side.composed:
        out[c.slot.id] = [
            f"{p.product_id} (pinned by {p.rule})"
            if p.kind == "pinned" and p.rule
            else p.product_id
            for p in c.picks
        ]
    return out


def differences(live: PreviewSide, draft: PreviewSide) -> list[str]:
    """Every change between the two pages that the preview shows: slots added, removed or
    reordered, a slot's title, and each slot's products (in, out, moved, pinned by a rule)."""
    out = []
    a, b = live.slot_ids, draft.slot_ids
    if [s for s in b if s not in a]:
        out.append("the draft adds " + ", ".join(s for s in b if s not in a))
    if [s for s in a if s not in b]:
        out.append("the draft removes " + ", ".join(s for s in a if s not in b))
    if [s for s in a if s in b] != [s for s in b if s in a]:
        out.append("the draft reorders the slots: " + " > ".join(b))
    before = {c.slot.id: c for c in live.composed}
    for c in draft.composed:
        old = before.get(c.slot.id)
        if old is None:
            continue
        if old.title != c.title:
            out.append(f"{c.slot.id} is titled “{c.title}” (was “{old.title}”)")
        was = [p.product_id for p in old.picks]
        now = [p.product_id for p in c.picks]
        if was == now and [p.rule for p in old.picks] == [p.rule for p in c.picks]:
            continue
        parts = []
        added = [p for p in now if p not in was]
        gone = [p for p in was if p not in now]
        if added:
            parts.append("shows " + ", ".join(added))
        if gone:
            parts.append("no longer shows " + ", ".join(gone))
        for i, p in enumerate(c.picks):
            prior = next((q for q in old.picks if q.product_id == p.product_id), None)
            if p.kind == "pinned" and (prior is None or prior.rule != p.rule):
                parts.append(f"{p.product_id} pinned at #{i + 1} by {p.rule}")
        if not added and not gone:
            parts.append("orders its products " + ", ".join(now))
        out.append(f"{c.slot.id} " + "; ".join(parts))
    return out
