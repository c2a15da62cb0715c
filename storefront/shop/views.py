"""Shopper page views: each names its page type and arguments; pages.compose does the rest."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, NumberRange, Regexp

from storefront import orders, page_cache, page_memo
from storefront.context import OverrideError, build_context
from storefront.core.aftercare import due_again
from storefront.core.dependencies import stateless
from storefront.core.lookup import lookup
from storefront.events import Event, record
from storefront.fragments import Timings
from storefront.holders import request_versions
from storefront.image_hosts import csp_with_images
from storefront.model_holder import snapshot
from storefront.pages import compose
from storefront.product_images import svg_tile
from storefront.qa_snapshot import SnapshotError, read_pin
from storefront.rules.holder import published
from storefront.visitor import COOKIE, current_visitor, switch_visitor

bp = Blueprint("shop", __name__)
PRODUCT_ID = r"^[A-Za-z0-9_-]{1,32}$"


class CartForm(FlaskForm):
    product_id = HiddenField(validators=[DataRequired(), Regexp(PRODUCT_ID)])
    quantity = IntegerField(default=1, validators=[NumberRange(min=0, max=999)])


@bp.before_app_request
def _context() -> None:
    """Read the context once for every shopper page (not for assets, events or health).

    This runs on every page, cached ones included, so it binds the request, `g` and the app
    once (each access through Flask's context-local proxies costs a lookup)."""
    req = request._get_current_object()
    endpoint = req.endpoint
    if endpoint is None or not endpoint.startswith("shop.") or endpoint == "shop.product_image":
        return
    app = current_app._get_current_object()
    store = g._get_current_object()
    timings = store.timings = Timings()
    t = time.perf_counter()
    visitor_id, new = current_visitor()
    try:
        pin = store.pin = read_pin(req)
    except SnapshotError as exc:
        abort(400, description=str(exc))
    if pin is not None and pin.model:
        try:
            snapshot()
        except LookupError as exc:
            abort(400, description=str(exc))
    page_key = store.page_key = None if new else page_cache.page_key(visitor_id)
    # a visitor last seen with no state of their own, their page from this worker's memo: the
    # session alone is read (one server), not a page copy they do not have (page_memo.py)
    memo = page_memo.memo_of(app)
    alone = page_key is not None and visitor_id in memo.stateless

    def read(visitor_id: str, new: bool, page_key: str | None, ledger: str = "0", known=None):
        try:
            return build_context(
                req,
                visitor_id,
                new,
                app.extensions["sessions"],
                app.extensions["geo"],
                now=pin.clock if pin else None,
                seed=pin.seed if pin else None,
                arms=pin.arms if pin else None,
                page_key=page_key,
                ledger=ledger,
                known=known,
            )
        except OverrideError as exc:
            abort(400, description=str(exc))

    # a note of this visitor's session made by this worker (page_memo.py), while it holds: not
    # for a QA pin, nor with notes off
    within = app.config["SETTINGS"].page_memo_note_seconds if pin is None else 0
    if alone:  # the ledger too: a stateless visitor's is known to be empty
        # their session as this worker noted it, their state unchanged: nothing read
        note = memo.noted(visitor_id, _mark(req), within) if within else None
        context = None
        if note is not None:
            context = _from_note(store, note, read(visitor_id, new, None, "1", note.state))
        if context is None:
            context = read(visitor_id, new, None, "1")
        store.context = context
        if not context.session.retired and not stateless(context, pin is not None):
            # something of their own since (a view, a basket, on any worker): their page too
            memo.seen_stateless(visitor_id, False)
            context = store.context = read(visitor_id, new, page_key)
    else:
        # their session as noted, their state unchanged: their page copy alone is read
        note = (
            memo.noted_stated(visitor_id, _mark(req), within)
            if page_key is not None and within
            else None
        )
        context = None
        if note is not None:
            known = app.extensions["sessions"].read_page(note.state, page_key)
            context = _from_note(store, note, read(visitor_id, new, None, known=known))
        if context is None:
            context = read(visitor_id, new, page_key)
        store.context = context
    if context.session.retired:  # a cookie from before a sign-in or sign-out: start afresh
        page_key = store.page_key = None
        context = store.context = read(switch_visitor(), True, None)
    timings.add("context", t)
    if page_key is None:
        return _memo(store, req, app, context, None)
    t = time.perf_counter()
    page_stamp = store.page_stamp = _stamp(store, req, context)  # compose keeps it
    cached = context.session.cached_page
    if cached is not None and page_stamp is not None:
        hit = page_cache.serve(context, cached, page_stamp)
        if hit is not None:  # nothing changed since this page was built: no view, no render
            timings.add("page-hit", t)
            return hit
    return _memo(store, req, app, context, page_stamp)


def _mark(req) -> str:
    """The browser's state mark as sent ("" for none: page_memo.STATE_COOKIE)."""
    return lookup(req.cookies, page_memo.STATE_COOKIE) or ""


def _from_note(store, note, context):
    """`context`, built from a note (page_memo.Note) of the visitor's session, or None where a
    new visit begins (its facts come from their record: read it)."""
    if context.visit is None or context.visit.fresh:
        return None
    store.noted_at = note.at  # only a read renews the note
    store.timings.add("noted", time.perf_counter())
    return context


def _memo(store, req, app, context, page_stamp: str | None):
    """A visitor with no state of their own gets the page built for their context, once per
    worker (page_memo.py); compose keeps it under `page_memo` when it builds it."""
    if page_stamp is None:
        # stamped only where a page could be shared: a cookie-less request's cacheable page
        # (a known visitor's was stamped for the page cache: None there is a pin naming a
        # missing version); not the basket, the privacy page or any other shop page
        if store.page_key is not None or not page_memo.eligible(req, app):
            return None
        page_stamp = store.page_stamp = _stamp(store, req, context)
    t = time.perf_counter()
    key = store.page_memo = page_memo.memo_key(context, page_stamp, store.pin is not None, req, app)
    if store.page_key is not None:  # a known visitor: whether their next page is the memo's
        if key is None:
            page_memo.memo_of(app).seen_stateless(context.visitor_id, False)
        else:  # noted with what this request writes into their record (_server_timing)
            store.note_stateless = True
    if key is None:
        return None
    hit = page_memo.serve(context, key, page_stamp, app)
    if hit is not None:
        store.timings.add("page-memo", t)
    return hit


def _stamp(store, req, context) -> str | None:
    """page_cache.current_stamp, with the snapshot read once: kept on `g` with its request
    (a test may hold one app context, so one `g`, around several requests) for the
    catalog-images hook. None when a QA pin names a missing version (such a page is not kept)."""
    pin = store.pin
    try:
        if pin is None or not (pin.model or pin.rules):  # what snapshot() and published() say
            versions = request_versions()
            snap, rules = versions.snapshot, versions.rules
        else:
            snap, rules = snapshot(), published()
    except LookupError:
        return None
    store._snap = (req, snap)
    return page_cache.stamp(context, snap.model_version + snap.catalog.version, rules.label)


@bp.after_request
def _catalog_images(response):
    """Shop pages may show an imported catalog's own pictures: allow their hosts for images."""
    held = g._get_current_object().__dict__.get("_snap")  # _stamp's, on most pages
    try:
        if held is not None and held[0] is request._get_current_object():
            origins = held[1].catalog.image_origins
        else:
            origins = snapshot().catalog.image_origins
    except LookupError:  # a QA pin naming a missing model: its 400 needs no pictures
        return response
    if origins:
        response.headers["Content-Security-Policy"] = csp_with_images(origins)
    return response


@bp.after_app_request
def _server_timing(response):
    held = g._get_current_object().__dict__  # every request passes here: g's dict, bound once
    timings = held.get("timings")
    if timings is not None:
        response.headers["Server-Timing"] = timings.header()
        ctx = held.get("context")
        # a request that moved the browser to another visitor (a sign-in or sign-out retired
        # the id it came with) must not touch that id: its record is the retirement mark
        if ctx is not None and held.get("visitor_id", ctx.visitor_id) == ctx.visitor_id:
            app = current_app._get_current_object()
            written = app.extensions["sessions"].touch(
                ctx.session, new=ctx.new_visitor, visit=ctx.visit
            )
            req = request._get_current_object()
            mark = _mark(req)
            # a new visit: notes made before it are stale, on every worker
            if ctx.visit is not None and ctx.visit.fresh and not ctx.new_visitor:
                mark = page_memo.new_state(response, req.is_secure)
            # their next page may read this (page_memo.py); a page served from the note that
            # wrote nothing leaves the note as it is
            noted_at = held.get("noted_at")
            if noted_at is None or written:
                if held.get("note_stateless"):
                    note = page_memo.note_of(ctx.session, written, mark, noted_at)
                    page_memo.memo_of(app).seen_stateless(ctx.visitor_id, True, note)
                elif (
                    held.get("page_key") is not None
                    and held.get("pin") is None
                    and ctx.session.available
                    and app.config["SETTINGS"].page_memo_note_seconds
                ):  # a visitor with state of their own: their next page reads its copy alone
                    note = page_memo.note_of(ctx.session, written, mark, noted_at)
                    page_memo.memo_of(app).note_stated(ctx.visitor_id, note)
    return response


@bp.after_app_request
def _state_changed(response):
    """A request that may have changed its visitor's state (any method but GET, HEAD and
    OPTIONS that succeeded, from a browser with a visitor cookie) gives the browser a new
    state mark: no worker serves its next page from a note made before (page_memo.py)."""
    req = request._get_current_object()
    if (
        req.method not in ("GET", "HEAD", "OPTIONS")
        and response.status_code < 400
        and lookup(req.cookies, COOKIE) is not None
    ):
        page_memo.new_state(response, req.is_secure)
        vid = g._get_current_object().__dict__.get("visitor_id")
        if vid is not None:
            page_memo.memo_of(current_app._get_current_object()).forget(vid)
    return response


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= 100:
        abort(400, description="page: a whole number from 1 to 100")
    return int(raw)


@bp.get("/")
def home():
    return compose("home", {}, "shop/home.html")


@bp.get("/c/<slug>")
def category(slug: str):
    catalog = snapshot().catalog
    name = catalog.category_name(slug)
    if name is None:
        abort(404, description=f"no category {slug!r}")
    page_no = _page_number()
    total = len(catalog.by_category.get(slug, []))
    return compose(
        "category",
        {"category": slug, "page": page_no},
        "shop/category.html",
        category_slug=slug,
        category_name=name,
        page_no=page_no,
        total=total,
    )


@bp.get("/p/<product_id>")
def product(product_id: str):
    item = snapshot().catalog.get(product_id)
    if item is None:
        abort(404, description=f"no product {product_id!r}")
    # the basket form is written out in the template (its CSRF field is Flask-WTF's
    # csrf_token()): a CartForm built per page cost more than the rest of the view
    return compose("product", {"product_id": product_id}, "shop/product.html", product=item)


@bp.get("/search")
def search():
    query = (request.args.get("q") or "").strip()
    if len(query) > 100:
        abort(400, description="q: at most 100 characters")
    page_no = _page_number()
    total = len(snapshot().catalog.search(query)) if query else 0
    return compose(
        "search",
        {"query": query, "page": page_no},
        "shop/search.html",
        query=query,
        page_no=page_no,
        total=total,
    )


@bp.route("/cart", methods=["GET", "POST"])
def cart():
    form = CartForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            fields = ", ".join(sorted(form.errors)) or "form"
            abort(400, description=f"invalid cart update: {fields}")
        pid = form.product_id.data
        if snapshot().catalog.get(pid) is None:
            abort(400, description=f"product_id: unknown product {pid!r}")
        sessions = current_app.extensions["sessions"]
        current = g.context.session.cart.get(pid, 0)
        quantity = form.quantity.data if request.form.get("set") else current + form.quantity.data
        sessions.set_cart(g.context.visitor_id, pid, min(quantity, 999))
        return redirect(url_for("shop.cart"), code=303)
    catalog = snapshot().catalog
    lines = [
        (catalog.products[pid], q)
        for pid, q in g.context.session.cart.items()
        if pid in catalog.products
    ]
    total = sum(p.price * q for p, q in lines)
    return compose("cart", {}, "shop/cart.html", lines=lines, total=total, form=CartForm())


@bp.post("/cart/checkout")
def checkout():
    """A demo checkout: the basket becomes an order (kept for its confirmation and email,
    storefront/orders.py) and purchase events (they teach the shop most, and join the session
    at once: the next pages treat them as history), then empties. There is no payment step."""
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    ctx = g.context
    if not ctx.session.cart:
        return redirect(url_for("shop.cart"), code=303)
    catalog = snapshot().catalog
    order_id = orders.new_id()
    now = datetime.now(UTC)
    lines = [
        orders.OrderLine(pid, product.display_title, min(q, 999), product.price)
        for pid, q in sorted(ctx.session.cart.items())
        if (product := catalog.get(pid)) is not None
    ]
    if not lines:
        return redirect(url_for("shop.cart"), code=303)
    purchases = [
        Event(
            id=f"order-{order_id}-{i}",
            type="purchase",
            product_id=line.product_id,
            quantity=line.quantity,
            slot="checkout",
            ts=now,
        )
        for i, line in enumerate(lines)
    ]
    settings = current_app.config["SETTINGS"]
    order = orders.Order(order_id, ctx.visitor_id, now, catalog.currency, tuple(lines))
    orders.save(current_app.extensions["redis"], order, settings.session_ttl)
    record(ctx.visitor_id, purchases, ctx.consent)
    current_app.extensions["sessions"].clear_cart(ctx.visitor_id)
    return redirect(url_for("shop.order_confirmation", order_id=order_id), code=303)


@bp.get("/order/<order_id>")
def order_confirmation(order_id: str):
    """The confirmation, personalized around what was just bought: the recap, when each
    product will be due again, and what goes with it. Only the visitor who placed it sees it."""
    order = orders.load(current_app.extensions["redis"], order_id)
    if order is None or order.visitor != g.context.visitor_id:
        abort(404, description=f"order: no order {order_id!r} of yours")
    snap = snapshot()
    due = due_again(snap, g.context.customer_id, order.product_ids, order.placed.date())
    return compose(
        "order",
        {"order": order.id, "products": ",".join(order.product_ids)},
        "shop/order.html",
        order=order,
        due=due,
    )


@bp.get("/img/p/<product_id>.svg")
def product_image(product_id: str):
    item = snapshot().catalog.get(product_id)
    if item is None:
        abort(404)
    response = current_app.response_class(
        svg_tile(item.id, item.title, item.category), mimetype="image/svg+xml"
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
