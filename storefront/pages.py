"""Shop pages, the web side: read the request's snapshot, rules and experiments, then the core
plans (core/plan.py) and composes (core/compose.py) the page, and this renders it.

Every shopper page goes through compose(); the page-specific views only say which page type it
is and what its arguments are (a product id, a category, a query). The JSON API and the studio
preview use the same plan and compose; nothing here filters or edits HTML.
"""

from __future__ import annotations

import time

from flask import Response, current_app, g, make_response, render_template, session

from storefront import metrics, page_cache, page_memo
from storefront.core.compose import Composed, Timings
from storefront.core.compose import compose as compose_slots
from storefront.core.plan import PagePlan, make_plan, page_facts
from storefront.experiments.targeting import in_play
from storefront.fragments import RedisFragments, render_html
from storefront.ledger import RedisLedger
from storefront.model_holder import snapshot
from storefront.redis_client import get_cache, get_redis
from storefront.rules.serving import rules_for


def plan(page: str, page_args: dict, ctx, timings: Timings) -> PagePlan:
    """Layout for the page and person: defaults, then the published rules, then the visitor's
    experiment arms (a model arm may serve another model version). Only the experiments whose
    targeting holds for this request take part (experiments/targeting.py)."""
    settings = current_app.config["SETTINGS"]
    snap = snapshot()
    facts = page_facts(ctx, page, page_args, snap.catalog)  # once: experiments and rules
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
        facts,
    )
    t = time.perf_counter()
    rules = rules_for(page, ctx, running)  # the merchandisers' published rules, or an arm's
    p = make_plan(
        page,
        page_args,
        ctx,
        snap,
        rules,
        settings,
        running,
        current_app.extensions["models"].pinned,
        facts,
    )
    timings.add("rules", t)
    return p


def composed(
    p: PagePlan,
    page_args: dict,
    ctx,
    timings: Timings,
    slots=None,
    fragments: RedisFragments | None = None,
) -> list[Composed]:
    """The plan's slots as shown, with the shop's fragment cache and exposure ledger (answered
    from the session read when the ledger came with it: ledger.py)."""
    shown = compose_slots(
        p,
        ctx,
        page_args,
        current_app.config["SETTINGS"],
        fragments or RedisFragments(get_cache()),
        RedisLedger(get_redis(), ctx.visitor_id, ctx.session.exposures),
        timings,
        slots,
        current_app.extensions["trends"],
    )
    metrics.fragments(p.page, (c.hit for c in shown))  # the fragment cache's hits and misses
    return shown


def compose(page: str, page_args: dict, template: str, **template_vars) -> Response:
    """Build one page for the person looking at it, with a Server-Timing breakdown."""
    timings: Timings = g.timings
    ctx = g.context
    p = plan(page, page_args, ctx, timings)
    snap = p.snap
    # the fragments this page computes are written with the page, in one round trip, after
    # the response has gone out (page_cache.behind)
    fragments = RedisFragments(get_cache(), defer=True)
    slots = composed(p, page_args, ctx, timings, fragments=fragments)
    t = time.perf_counter()
    html = render_template(
        template,
        ctx=ctx,
        page=page,
        slots=render_html(slots, page, snap.catalog, ctx.compact),
        catalog=snap.catalog,
        model_version=snap.model_version,
        **template_vars,
    )
    timings.add("render", t)
    response = make_response(html)
    page_cache.finish(response, snap.model_version, p.rules_version)
    page_key, page_stamp, memo = g.get("page_key"), g.get("page_stamp"), g.get("page_memo")
    if memo and page_stamp:
        # a page of no visitor's own, shared in this worker (page_memo.py): no copy for this
        # visitor in Redis (the worker's memo serves their next one); the fragments as ever
        page_memo.keep(memo, page_stamp, response)
    # kept for this visitor until anything changes; not a page whose form token this request
    # minted: its secret goes out in a new session cookie, while the page's key holds the
    # cookie as sent (or none), so a browser that did not keep the new one (closed since, or
    # refusing it) would be served a form its next POST fails with (the next request, with
    # the new cookie, keys and keeps the page)
    if page_key and page_stamp and not memo and not session.modified:
        ttl = current_app.config["SETTINGS"].page_cache_ttl
        page_cache.store(
            get_cache(), page_key, page_stamp, response, ttl, fragments.pending, fragments.ttl
        )
    else:
        pending = [(k, v, fragments.ttl) for k, v in fragments.pending.items()]
        page_cache.behind(response, get_cache(), pending)
    return response
