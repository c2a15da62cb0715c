"""The rules' part of a shopper request: which published version applies (a rules
experiment's arm, a QA pin, else the newest). The plan made from it is core/plan.py's one
PagePlan, used by every page (HTML and JSON) and by the studio's preview."""

from __future__ import annotations

import logging

from flask import abort, current_app

from storefront.context import Context
from storefront.rules.holder import Published, published

log = logging.getLogger(__name__)


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
