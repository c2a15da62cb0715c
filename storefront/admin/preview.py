"""Preview as anyone (draft and published side by side, with the rules that matched and why),
and the impact of the draft on a sample of real visitors before publishing."""

from __future__ import annotations

import re
import time

from flask import abort, current_app, render_template, request
from sqlalchemy import select

from storefront import db
from storefront.admin import auth, bp, forms, pickers
from storefront.admin.forms import PreviewForm, category_choices
from storefront.admin.rule_form import split
from storefront.admin.views import catalog, engine
from storefront.model_holder import snapshot
from storefront.rules import impact as impact_report
from storefront.rules import store, visits
from storefront.rules.conflicts import find_conflicts
from storefront.rules.holder import NONE, Published
from storefront.rules.personas import Persona, context_for
from storefront.rules.preview import differences as page_differences
from storefront.rules.preview import render_side, tiles

_QTY = re.compile(r"^([A-Za-z0-9_-]{1,32})(?:\s*[x×*]\s*(\d{1,3}))?$")


def live_and_draft() -> tuple[Published, Published]:
    """The published rules (read from SQL, not this worker's cache) and the draft."""
    now = store.current(engine())
    live = Published.of(now.label, now.ruleset) if now else NONE
    draft = store.draft(engine())
    return live, Published.of(f"draft-{store.digest(draft)}", draft)


def _product_id(typed: str) -> str:
    """A product id as typed (ids keep their case: "sku-1" and "SKU-1" are two products), or
    upper-cased when only that is in the catalog (a stock code typed in lower case)."""
    typed = typed.strip()
    if catalog().get(typed) is None and catalog().get(typed.upper()) is not None:
        return typed.upper()
    return typed


def _persona(form: PreviewForm, problems: list[str]) -> Persona:
    cart: dict[str, int] = {}
    for part in split(form.cart.data):
        m = _QTY.match(part.strip())
        if not m:
            problems.append(f"basket: {part!r} is not a product code (with an optional x2)")
            continue
        cart[_product_id(m.group(1))] = int(m.group(2) or 1)
    views = tuple(_product_id(p) for part in split(form.views.data) for p in part.split())
    unknown = [p for p in (*views, *cart) if catalog().get(p) is None]
    if unknown:
        problems.append("not in the catalog (ignored by the shop): " + ", ".join(unknown))
    customer = (form.customer.data or "").strip() or None
    if customer:
        with engine().connect() as conn:
            known = conn.execute(
                select(db.customers.c.id).where(db.customers.c.id == customer)
            ).first()
        if known is None:
            problems.append(f"customer {customer} is not in the order history")
    when = form.when.data.isoformat(timespec="minutes") if form.when.data else None
    return Persona(
        country=(form.country.data or "").strip().upper() or None,
        device=form.device.data or "desktop",
        os=form.os.data or None,
        when=when,
        customer=customer,
        recency=form.recency.data or ("returning" if customer else "new"),
        views=views,
        cart=cart,
        utm_source=(form.utm_source.data or "").strip() or None,
        utm_medium=(form.utm_medium.data or "").strip() or None,
        utm_campaign=(form.utm_campaign.data or "").strip() or None,
        referrer=(form.referrer.data or "").strip() or None,
    )


def _page_args(form: PreviewForm, problems: list[str]) -> tuple[str, dict]:
    page = form.page.data or "home"
    if page == "category":
        if not form.category.data:
            problems.append("category page: choose a category")
            return "home", {}
        return page, {"category": form.category.data, "page": 1}
    if page == "product":
        pid = _product_id(form.product.data or "")
        if catalog().get(pid) is None:
            problems.append(f"product page: no product {pid!r}")
            return "home", {}
        return page, {"product_id": pid}
    if page == "search":
        q = (form.query.data or "").strip()
        if not q:
            problems.append("search page: give the search words")
            return "home", {}
        return page, {"query": q, "page": 1}
    return page, {}


def _products(side) -> dict[str, list[str]]:
    return tiles(side)


@bp.get("/preview")
@auth.requires("viewer")
def preview():
    form = PreviewForm(formdata=request.args or None)
    form.category.choices = [forms.NONE, *category_choices()]
    problems: list[str] = []
    sides = []
    differences: list[str] = []
    took = 0.0
    if request.args.get("go"):
        started = time.perf_counter()
        persona = _persona(form, problems)
        page, args = _page_args(form, problems)
        settings = current_app.config["SETTINGS"]
        try:
            ctx = context_for(persona, settings.store_timezone, request.host)
        except ValueError as exc:
            problems.append(str(exc))
        else:
            snap = snapshot()
            live, draft = live_and_draft()
            sides = [
                render_side(page, args, ctx, snap, live, f"Published ({live.label})"),
                render_side(page, args, ctx, snap, draft, "Draft"),
            ]
            differences = _differences(sides[0], sides[1])
        took = (time.perf_counter() - started) * 1000
    return render_template(
        "admin/preview.html",
        form=form,
        problems=problems,
        sides=sides,
        differences=differences,
        products=[_products(s) for s in sides],
        took=took,
    )


def _differences(live, draft) -> list[str]:
    return page_differences(live, draft)


def _bounded(name: str, default: int, lo: int, hi: int) -> int:
    """A whole number from the query string within [lo, hi] (absent: the default); anything
    else is a 400 naming the parameter."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not lo <= int(raw) <= hi:
        abort(400, description=f"{name}: a whole number from {lo} to {hi}")
    return int(raw)


@bp.get("/impact")
@auth.requires("viewer")
def impact():
    n = _bounded("n", 200, 10, 1000)
    days = _bounded("days", visits.DEFAULT_DAYS, 1, 90)
    started = time.perf_counter()
    live, draft = live_and_draft()
    settings = current_app.config["SETTINGS"]
    sample = visits.recent(engine(), catalog(), settings.store_timezone, n, days)
    result = impact_report.measure(sample, catalog(), live, draft, settings)
    took = (time.perf_counter() - started) * 1000
    names = sorted({r.name for r in (*live.rules, *draft.rules)}, key=str.casefold)
    added = pickers.added_slots([*draft.rules, *live.rules])
    return render_template(
        "admin/impact.html",
        slot_label=lambda sid: pickers.slot_label(sid, None, added),
        result=result,
        live=live,
        draft=draft,
        names=names,
        n=n,
        days=days,
        took=took,
        conflicts=find_conflicts(draft.rules, catalog()),
    )
