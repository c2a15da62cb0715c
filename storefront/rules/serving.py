"""The rules' part of a shopper request: which version applies, which rules hold, and the
resulting layout and item policies. Used by every page (HTML and JSON) and by the studio's
preview, so what a merchandiser previews is what a shopper gets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app

from storefront.context import Context
from storefront.layouts import Layout
from storefront.model_holder import Snapshot
from storefront.rules.apply import Resolution, Sizing, SlotPolicy, resolve
from storefront.rules.holder import Published, published
from storefront.rules.matching import facts_for, matched

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PagePlan:
    layout: Layout
    rules_version: str  # the published label; part of every fragment key
    resolution: Resolution

    @property
    def policies(self) -> dict[str, SlotPolicy]:
        return self.resolution.policies


def sizing(ctx: Context) -> Sizing:
    s = current_app.config["SETTINGS"]
    return Sizing(ctx.compact, s.rail_size, s.compact_rail_size)


def rules_for(page: str, ctx: Context, running: tuple | None = None) -> Published:
    """The version for this request: a rules experiment's arm, a QA pin, else the newest.
    `running`: the experiments this request takes part in (default: every running one)."""
    arms = getattr(ctx, "experiments", None)
    if running is None and "experiments" in current_app.extensions:
        running = current_app.extensions["experiments"].get()
    if arms is not None and running:
        for e in running:
            arm = arms.arm(e.id) if e.kind == "rules" and e.page == page else None
            if arm is not None:
                try:
                    return current_app.extensions["rules"].pinned(e.arm_value(arm))
                except LookupError as exc:  # an arm naming a missing version: serve the newest
                    log.warning("experiment %s: %s", e.id, exc)
    try:
        return published()
    except LookupError as exc:
        abort(400, description=str(exc))


def plan_page(
    page: str,
    page_args: dict[str, Any],
    ctx: Context,
    snap: Snapshot,
    base: Layout,
    rules: Published | None = None,
) -> PagePlan:
    """The page's layout and policies under the given (default: the live) rules. A failure
    here falls back to the default layout: a broken rule never breaks a page."""
    rules = rules if rules is not None else rules_for(page, ctx)
    if not rules.enabled:
        return PagePlan(base, rules.label, Resolution(base))
    try:
        facts = facts_for(ctx, page, page_args, snap.catalog)
        tz = current_app.config["SETTINGS"].store_timezone
        winners = matched(rules.enabled, facts, tz)
        resolution = resolve(page, base, winners, sizing(ctx), snap.catalog)
    except Exception:
        log.exception("rules %s could not be applied to %s; default layout", rules.label, page)
        return PagePlan(base, rules.label, Resolution(base))
    return PagePlan(resolution.layout, rules.label, resolution)
