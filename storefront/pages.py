"""Page composition: context -> layout -> fragments (one cache round trip) -> page HTML.

Every shopper page goes through compose(); the page-specific views only say which page type it
is and what its arguments are (a product id, a category, a query).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Response, current_app, g, make_response, render_template

from storefront import page_cache
from storefront.experiments.assign import apply_to_layout, model_version
from storefront.experiments.targeting import in_play
from storefront.fragments import Rendered, Timings, render_slots
from storefront.layouts import Layout, layout_for
from storefront.model_holder import Snapshot, snapshot
from storefront.redis_client import get_cache
from storefront.rules.serving import plan_page, rules_for


@dataclass(frozen=True)
class PagePlan:
    """Everything a page type renders from, for HTML and for the JSON API alike."""

    layout: Layout
    policies: dict
    rules_version: str
    snap: Snapshot


def plan(page: str, page_args: dict, ctx, timings: Timings) -> PagePlan:
    """Layout for the page and person: defaults, then the published rules, then the visitor's
    experiment arms (a model arm may serve another model version). Only the experiments whose
    targeting holds for this request take part (experiments/targeting.py)."""
    settings = current_app.config["SETTINGS"]
    snap = snapshot()
    running = in_play(
        current_app.extensions["experiments"].get(),
        ctx.experiments,
        page,
        page_args,
        ctx,
        snap.catalog,
        # a request without the cookie (a bot, a health check, a first page) is not noted: it
        # must leave nothing lasting; the visitor is noted once they come back with it
        None if ctx.new_visitor else current_app.extensions["exposures"],
    )
    layout = layout_for(page, ctx.compact, settings.rail_size, settings.compact_rail_size)
    t = time.perf_counter()
    rules = rules_for(page, ctx, running)  # the merchandisers' published rules, or an arm's
    ruled = plan_page(page, page_args, ctx, snap, layout, rules)
    timings.add("rules", t)
    layout = apply_to_layout(ruled.layout, running, ctx.experiments)
    arm_model = model_version(page, running, ctx.experiments)
    if arm_model and arm_model != snap.model_version:
        snap = current_app.extensions["models"].pinned(arm_model)
    return PagePlan(layout, ruled.policies, ruled.rules_version, snap)


def compose(page: str, page_args: dict, template: str, **template_vars) -> Response:
    """Build one page for the person looking at it, with a Server-Timing breakdown."""
    timings: Timings = g.timings
    ctx = g.context
    p = plan(page, page_args, ctx, timings)
    snap = p.snap
    rendered = render_slots(
        get_cache(),
        p.layout.slots,
        ctx,
        snap,
        page,
        page_args,
        p.rules_version,
        timings,
        policies=p.policies,
    )
    t = time.perf_counter()
    shown = {page_args["product_id"]} if "product_id" in page_args else set()
    html = render_template(
        template,
        ctx=ctx,
        page=page,
        slots=one_page_no_repeats(rendered, shown),
        catalog=snap.catalog,
        model_version=snap.model_version,
        **template_vars,
    )
    timings.add("render", t)
    response = make_response(html)
    page_cache.finish(response, snap.model_version, p.rules_version)
    page_key, page_stamp = g.get("page_key"), g.get("page_stamp")
    if page_key and page_stamp:  # kept for this visitor until anything it depends on changes
        ttl = current_app.config["SETTINGS"].page_cache_ttl
        page_cache.store(get_cache(), page_key, page_stamp, response, html, ttl)
    return response


TILE_OPEN, TILE_CLOSE = "<!--t:", "<!--/t-->"  # written around each tile by _tile.html


def one_page_no_repeats(rendered: list[Rendered], shown: set[str]) -> list[Rendered]:
    """A product appears in at most one slot of a page: later slots drop repeats and fill up
    from their spare products; each rail is then cut to its size. Slots left empty go.

    Tiles are found by their markers with str.split, not a regex: this runs on every page."""
    out = []
    for r in rendered:
        if not r.html:
            continue
        head, *chunks = r.html.split(TILE_OPEN)
        parts, kept = [head], 0
        for chunk in chunks:
            tile, _, rest = chunk.partition(TILE_CLOSE)
            pid = tile[: tile.find("-->")]
            if pid not in shown and kept < r.slot.size:
                shown.add(pid)
                kept += 1
                parts.append(TILE_OPEN + tile + TILE_CLOSE)
            parts.append(rest)
        if kept:
            out.append(Rendered(r.slot, "".join(parts), r.hit))
    return out
