"""Per-slot HTML fragments: their cache keys, one MGET per page, rendering on a miss.

A key holds only what the slot's strategy depends on (its declared scope) plus the model and
rules versions and the layout variant, so a fragment is shared exactly as widely as it is valid.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis
from flask import current_app, render_template

from storefront import strategies
from storefront.context import Context
from storefront.layouts import Slot
from storefront.model_holder import Snapshot
from storefront.redis_client import FRAGMENT, key
from storefront.rules import items as rule_items
from storefront.rules.apply import FIXED_TITLE, SlotPolicy

log = logging.getLogger(__name__)
SPARE = 1.0  # a rail renders this many extra products per slot (x size) for de-duplication
EMPTY = "<!--empty-->"  # a cached "this slot has nothing to show", so it is not recomputed


@dataclass
class Timings:
    """Milliseconds spent per phase, reported in the Server-Timing header."""

    phases: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, started: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.phases.items())


@dataclass(frozen=True)
class Rendered:
    slot: Slot
    html: str  # "" when the slot has nothing to show
    hit: bool


def _params_digest(slot: Slot) -> str:
    raw = json.dumps([slot.title, slot.template, slot.params], sort_keys=True, default=str)
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def fragment_key(
    slot: Slot,
    req: strategies.Request,
    rules_version: str,
    variant: str,
    policy: SlotPolicy | None = None,
) -> str:
    """sf:frag:<slot>:<strategy>:<params>:<variant>:<scope...>:m<model>:r<rules>[.<policy>].

    A slot's rule policy (pins, hides, lifts) depends on facts its scope may not hold (a
    trending rail is keyed by country, a rule may pin for phones only), so its digest is in
    the key: the same policy, the same fragment."""
    strategy = strategies.get(slot.strategy)
    scope = strategy.scope(req) if strategy else ()
    avoid = req.ctx.traits.digest()
    if avoid:  # muted / excluded categories change even shared rails for this shopper
        scope = (*scope, "x", avoid)
    arms = req.ctx.experiments.digest()
    if arms:  # two arms of an experiment never share a fragment
        scope = (*scope, "e", arms)
    return key(
        FRAGMENT,
        slot.id,
        slot.strategy,
        _params_digest(slot),
        variant,
        *scope,
        "m" + req.snap.model_version + req.snap.catalog.version,
        "r" + rules_version + (f".{policy.digest()}" if policy else ""),
    )


def _payload(slot: Slot, req: strategies.Request, title: str, picks) -> str:
    """The JSON form of a slot for the headless API: the same picks as the HTML fragment."""
    catalog = req.snap.catalog
    items = []
    for p in picks:
        product = catalog.get(p.product_id)
        if product is None:
            continue
        items.append(
            {
                "id": p.product_id,
                "title": product.display_title,
                "price": round(product.price, 2),
                "currency": product.details.currency or "GBP",
                "category": product.category,
                "reason": p.reason,
                "image_url": product.details.image_url,  # None: the API links the drawn tile
            }
        )
    return json.dumps(
        {
            "slot": slot.id,
            "strategy": slot.strategy,
            "title": title,
            "size": slot.size,
            "items": items,
        },
        separators=(",", ":"),
    )


def _render_slot(
    slot: Slot,
    req: strategies.Request,
    page: str,
    timings: Timings,
    fmt: str = "html",
    policy: SlotPolicy | None = None,
) -> str:
    strategy = strategies.get(slot.strategy)
    if strategy is None:
        raise LookupError(f"unknown strategy {slot.strategy!r}")
    t = time.perf_counter()
    picks = strategy.pick(req)
    if policy:  # merchandiser rules: hide, boost / bury, pin
        first = int(req.page.get("page", 1) or 1) == 1
        picks = rule_items.apply(picks, policy, req.snap.catalog, req.ctx.traits.avoid, first)
    timings.add("recs", t)
    if not picks:
        return EMPTY
    # a title a merchandiser wrote wins over the strategy's own ("Trending in France ...")
    title = slot.title if slot.params.get(FIXED_TITLE) else strategy.title(req, slot.title)
    t = time.perf_counter()
    if fmt == "json":
        payload = _payload(slot, req, title, picks)
        timings.add("render", t)
        return payload
    catalog = req.snap.catalog
    items = [(catalog.products[p.product_id], p) for p in picks if p.product_id in catalog.products]
    html = render_template(
        f"fragments/{slot.template}.html",
        slot=slot,
        title=title,
        items=items,
        page=page,
        compact=req.ctx.compact,
    )
    timings.add("render", t)
    return html


def render_slots(
    client: redis.Redis,
    slots: tuple[Slot, ...],
    ctx: Context,
    snap: Snapshot,
    page: str,
    page_args: dict,
    rules_version: str,
    timings: Timings,
    fmt: str = "html",
    policies: Mapping[str, SlotPolicy] | None = None,
) -> list[Rendered]:
    """Fetch every slot's fragment in one MGET; render and store (with a TTL) the misses.

    A slot whose strategy fails is left out and logged: a broken slot never breaks a page.
    `fmt="json"` gives the headless API's form of the same slots (cached separately).
    `policies` are the rules' item policies per slot id (see rules/apply.py).
    """
    policies = policies or {}
    ttl = current_app.config["SETTINGS"].fragment_ttl
    variant = ("j" if fmt == "json" else "") + ("c" if ctx.compact else "f")
    # rails fetch a few spare products so the page can drop repeats and still fill them
    reqs = [
        strategies.Request(
            ctx,
            snap,
            page_args,
            s.params,
            s.size + (int(s.size * SPARE) if s.template == "rail" else 0),
        )
        for s in slots
    ]
    keys = [
        fragment_key(s, r, rules_version, variant, policies.get(s.id))
        for s, r in zip(slots, reqs, strict=True)
    ]
    t = time.perf_counter()
    try:
        cached = client.mget(keys)
    except redis.RedisError as exc:
        log.warning("fragment cache unavailable, rendering everything: %s", exc)
        cached = [None] * len(keys)
    timings.add("cache", t)
    out: list[Rendered] = []
    to_store: dict[str, str] = {}
    for slot, req, k, html in zip(slots, reqs, keys, cached, strict=True):
        if html is not None:
            out.append(Rendered(slot, "" if html == EMPTY else html, True))
            continue
        try:
            html = _render_slot(slot, req, page, timings, fmt, policies.get(slot.id))
        except Exception:
            log.exception(
                "slot %s (strategy %s) failed; left out of the page", slot.id, slot.strategy
            )
            continue
        to_store[k] = html
        out.append(Rendered(slot, "" if html == EMPTY else html, False))
    if to_store:
        t = time.perf_counter()
        try:
            pipe = client.pipeline(transaction=False)
            for k, html in to_store.items():
                pipe.set(k, html, ex=ttl)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not store fragments: %s", exc)
        timings.add("cache", t)
    return out
