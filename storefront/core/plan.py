"""The ONE PagePlan: the default layout -> the published rules' effects -> the experiments'
effects. Used by shop pages, the JSON API, the studio preview and the evaluation replay.

Everything comes in as arguments (the snapshot, the rules version the request reads, the
experiments it takes part in, the settings), so the plan of a persona in the studio is the
plan of a shopper with the same context, time and rules version.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storefront.experiments.assign import apply_to_layout, model_version
from storefront.layouts import Layout, layout_for
from storefront.rules.apply import Resolution, Sizing, SlotPolicy, resolve
from storefront.rules.matching import facts_for, matched

if TYPE_CHECKING:
    from storefront.context import Context
    from storefront.core.snapshot import Snapshot
    from storefront.rules.holder import Published

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PagePlan:
    """Everything a page renders from, for HTML, JSON, preview and replay alike."""

    page: str
    layout: Layout
    rules_version: str  # the rules label read for this request; part of every fragment key
    snap: Snapshot  # the model and catalog (an experiment arm may serve another model)
    resolution: Resolution  # the rules' decisions and notes (the studio shows them)

    @property
    def policies(self) -> Mapping[str, SlotPolicy]:
        return self.resolution.policies


def page_facts(
    ctx: Context, page: str, page_args: Mapping[str, Any], catalog
) -> Callable[[], dict]:
    """The request's rule facts, computed on first use and then kept: the rules and the
    experiments' targeting of one request read the same facts, computed once."""
    return functools.cache(lambda: facts_for(ctx, page, dict(page_args), catalog))


def sizing(ctx: Context, settings: Any) -> Sizing:
    return Sizing(ctx.compact, settings.rail_size, settings.compact_rail_size)


def base_layout(page: str, ctx: Context, settings: Any) -> Layout:
    return layout_for(page, ctx.compact, settings.rail_size, settings.compact_rail_size)


def rule_effects(
    page: str,
    page_args: Mapping[str, Any],
    ctx: Context,
    snap: Snapshot,
    base: Layout,
    rules: Published,
    settings: Any,
    facts: Callable[[], dict] | None = None,
) -> Resolution:
    """The page's layout and item policies under these rules. A failure falls back to the
    default layout: a broken rule never breaks a page. `facts`: the request's rule facts, when
    the caller has them (computed once per request: experiment targeting reads them too)."""
    if not rules.enabled:
        return Resolution(base)
    try:
        facts = facts or page_facts(ctx, page, page_args, snap.catalog)
        winners = matched(rules.enabled, facts(), settings.store_timezone)
        return resolve(page, base, winners, sizing(ctx, settings), snap.catalog)
    except Exception:
        log.exception("rules %s could not be applied to %s; default layout", rules.label, page)
        return Resolution(base)


def make_plan(
    page: str,
    page_args: Mapping[str, Any],
    ctx: Context,
    snap: Snapshot,
    rules: Published,
    settings: Any,
    running: tuple = (),
    pinned_model: Callable[[str], Snapshot] | None = None,
    facts: Callable[[], dict] | None = None,
) -> PagePlan:
    """layout -> rule effects -> experiment effects (a strategy arm changes a slot's strategy,
    a model arm serves another model version through `pinned_model`)."""
    resolution = rule_effects(
        page, page_args, ctx, snap, base_layout(page, ctx, settings), rules, settings, facts
    )
    layout = resolution.layout
    if running:
        layout = apply_to_layout(layout, running, ctx.experiments)
        arm_model = model_version(page, running, ctx.experiments)
        if arm_model and arm_model != snap.model_version and pinned_model is not None:
            snap = pinned_model(arm_model)
    return PagePlan(page, layout, rules.label, snap, resolution)
