"""/api/v1: the page as JSON, one slot as email-safe HTML, and the OpenAPI description.

Browsers call it with their `sid` cookie, like the HTML pages. Server-to-server callers send an
API key (`Authorization: Bearer sfk_…` or `X-Api-Key`) and may then state the context
explicitly: visitor, country, device, local time. Each key has its own rate limit.

Every answer is personal, so none may be kept by a shared cache (`Cache-Control: private,
no-store`); only the OpenAPI description is public. Product links are on the configured public
URL (links.channel_links), never on the request's Host header.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import TooManyRequests

from storefront import orders, pages, rate_limits
from storefront.api import keys
from storefront.api.openapi import document
from storefront.api.schemas import ContextQuery, FragmentQuery, OrderQuery, PageQuery, QueryError
from storefront.context import OverrideError, build_context
from storefront.core.aftercare import due_again
from storefront.fragments import Timings, payload
from storefront.layouts import PAGE_TYPES
from storefront.links import channel_links
from storefront.model_holder import snapshot
from storefront.visitor import current_visitor

bp = Blueprint("api", __name__, url_prefix="/api/v1")
EXPLICIT = ("visitor", "country", "device", "os", "time")


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    presented = keys.presented(request.headers)
    g.api_key = None
    if presented is not None:
        g.api_key = keys.verify(current_app.extensions["db"], presented)
        if g.api_key is None:
            abort(401, description="Authorization: unknown or revoked API key")
        _rate_limit(g.api_key)
    stated = [name for name in EXPLICIT if name in request.args]
    if stated and g.api_key is None:
        abort(403, description=f"{stated[0]}: stating the context needs an API key")
    empty = [name for name in stated if not request.args[name].strip()]
    if empty:
        abort(400, description=f"{empty[0]}: empty; leave it out to use the request's own")
    try:
        stated_context = ContextQuery.parse(request.args)  # the published schema's checks
    except QueryError as exc:
        abort(400, description=str(exc))
    if stated_context.visitor:
        visitor_id, new = stated_context.visitor, False
    else:
        visitor_id, new = current_visitor()
    g.timings = Timings()
    explicit = {
        n: v
        for n in ("country", "device", "os", "time")
        if (v := getattr(stated_context, n)) is not None
    }
    try:
        g.context = build_context(
            request,
            visitor_id,
            new,
            current_app.extensions["sessions"],
            current_app.extensions["geo"],
            explicit=explicit,
        )
    except OverrideError as exc:
        abort(400, description=str(exc))
    return None


def _rate_limit(api_key: keys.ApiKey) -> None:
    """At most the key's own calls a minute (a Flask-Limiter window per key; see
    storefront/rate_limits.py); beyond, 429 with Retry-After. Redis down: not limited."""
    window = rate_limits.Window("api", api_key.per_minute, 60)
    wait = rate_limits.hit([(window, (api_key.id,))])
    if wait:
        message = f"Authorization: more than {api_key.per_minute} calls a minute"
        raise TooManyRequests(message, retry_after=wait)


@bp.after_request
def _headers(response):
    personal = request.endpoint != "api.openapi"
    response.headers["Cache-Control"] = "private, no-store" if personal else "public, max-age=300"
    origin = request.headers.get("Origin")
    allowed = current_app.config["SETTINGS"].cors_origins
    if origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"
    timings = g.get("timings")
    if timings is not None:
        response.headers["Server-Timing"] = timings.header()
    return response


def _page_args(page: str) -> dict:
    """The listing's arguments. Each is checked wherever it is given (a malformed one is a 400
    even on a page that ignores it), and required where its page needs it."""
    args: dict = {}
    model = FragmentQuery if request.endpoint == "api.fragment_html" else PageQuery
    try:
        query = model.parse(request.args)  # the published schema's checks
    except QueryError as exc:
        abort(400, description=str(exc))
    pid, slug, q, number = query.product_id, query.category, query.q, query.page
    catalog = snapshot().catalog
    if page == "product":
        if pid is None or catalog.get(pid) is None:
            abort(400, description="product_id: a product of this shop is required")
        args["product_id"] = pid
    elif page == "category":
        if slug is None or catalog.category_name(slug) is None:
            abort(400, description="category: a category of this shop is required")
        args.update(category=slug, page=number)
    elif page == "search":
        if q is None:
            abort(400, description="q: required for the search page, 1 to 100 characters")
        args.update(query=q, page=number)
    return args


def _slots(page: str, only: str | None = None, absolute: bool = False) -> list[dict]:
    """The page's slots as data, in order, de-duplicated across the page like the HTML.
    `absolute`: links that must stand alone (an email's), see links.channel_links."""
    if page not in PAGE_TYPES:
        if request.endpoint == "api.fragment_html":  # a query parameter: a bad request
            abort(400, description=f"page_type: one of {', '.join(PAGE_TYPES)}")
        abort(404, description=f"page: one of {', '.join(PAGE_TYPES)}")
    ctx = g.context
    page_args = _page_args(page)
    plan = pages.plan(page, page_args, ctx, g.timings)  # rules and experiments, as in HTML
    g.rules_version = plan.rules_version
    g.model_version = plan.snap.model_version
    chosen = tuple(s for s in plan.layout.slots if only is None or s.id == only)
    if only is not None and not chosen:
        abort(404, description=f"slot: no slot {only!r} on the {page} page")
    # the one compose and pipeline the HTML page goes through: the same picks, in order
    composed = pages.composed(plan, page_args, ctx, g.timings, chosen)
    t = time.perf_counter()
    out = []
    for c in composed:
        data = payload(c, plan.snap.catalog)
        items = []
        for item in data["items"]:
            url, image_url = channel_links(item["id"], absolute)
            # the catalog's own picture where it has one, else the generated one
            items.append({**item, "image_url": item.get("image_url") or image_url, "url": url})
        out.append(
            {
                "slot": data["slot"],
                "strategy": data["strategy"],
                "title": data["title"],
                "products": items,
            }
        )
    g.timings.add("render", t)
    return out


@bp.get("/pages/<page>")
def page_json(page: str):
    ctx = g.context
    slots = _slots(page)
    return jsonify(
        {
            "page": page,
            "model_version": g.model_version,
            "rules_version": g.rules_version,
            "context": {
                "visitor": "stated" if request.args.get("visitor") else "cookie",
                "country": ctx.country,
                "device": ctx.device,
                "os": ctx.os,
                "daypart": ctx.time.daypart,
                "local_time": ctx.time.local.isoformat(timespec="minutes"),
                "season": ctx.time.season,
                "holiday": ctx.time.holiday,
            },
            "slots": slots,
        }
    )


@bp.get("/fragments/<slot>")
def fragment_html(slot: str):
    """One slot as HTML for an email: inline styles, absolute links, no script. The page type
    is `page_type` (`page` is the page number of a listing, as for /pages)."""
    if request.args.get("page") in PAGE_TYPES:
        abort(400, description="page: the page number; name the page type with page_type")
    page = request.args.get("page_type", "home")
    data = _slots(page, only=slot, absolute=True)
    if not data:
        abort(404, description=f"slot: {slot!r} has nothing to show for this visitor")
    html = render_template("fragments/email.html", slot=data[0])
    return current_app.response_class(html, mimetype="text/html")


@bp.get("/fragments/order-followup")
def order_followup():
    """The order's follow-up for the transactional email (API key only): the recap, what goes
    with it and when it will be due again, as email-safe HTML (inline styles, absolute links,
    no script). Built for the visitor who placed the order, from the same plan and compose as
    their confirmation page: the products they bought never come back as what goes with them."""
    if g.api_key is None:
        abort(401, description="Authorization: an API key is required (Bearer sfk_…)")
    try:
        query = OrderQuery.parse(request.args)
    except QueryError as exc:
        abort(400, description=str(exc))
    order = orders.load(current_app.extensions["redis"], query.order)
    if order is None:
        abort(404, description=f"order: no order {query.order!r}")
    try:
        ctx = build_context(
            request,
            order.visitor,
            False,
            current_app.extensions["sessions"],
            current_app.extensions["geo"],
        )
    except OverrideError as exc:
        abort(400, description=str(exc))
    page_args = {"order": order.id, "products": ",".join(order.product_ids)}
    plan = pages.plan("order", page_args, ctx, g.timings)
    composed = pages.composed(plan, page_args, ctx, g.timings)
    catalog = plan.snap.catalog
    t = time.perf_counter()
    slots = []
    for c in composed:
        data = payload(c, catalog)
        items = []
        for item in data["items"]:
            url, image_url = channel_links(item["id"], True)
            image = item.get("image_url") or image_url
            items.append({**item, "image_url": image, "url": url})
        if items:
            slots.append({**data, "products": items})
    recap = []
    for line in order.lines:
        shown = catalog.get(line.product_id) is not None  # a product since withdrawn: text only
        url = channel_links(line.product_id, True)[0] if shown else None
        recap.append((line, url))
    due = due_again(plan.snap, ctx.customer_id, order.product_ids, order.placed.date())
    html = render_template(
        "fragments/order_followup.html", order=order, recap=recap, slots=slots, due=due
    )
    g.timings.add("render", t)
    return current_app.response_class(html, mimetype="text/html")


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
