"""Which running experiments one request takes part in: those on its page whose targeting holds.

Targeting is written with the rules' own conditions and tested on the rules' own facts
(rules/matching), so "only mobile visitors" means the same in a rule and in an experiment. A
visitor the conditions leave out gets the page as if the experiment did not exist, and is not
counted in its results; one it lets in is noted (exposures.py) for the results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from storefront.experiments.assign import Assignment
from storefront.experiments.exposures import Exposures
from storefront.experiments.store import Experiment

log = logging.getLogger(__name__)


def in_play(
    running: tuple[Experiment, ...],
    assignment: Assignment,
    page: str,
    page_args: Mapping[str, Any],
    ctx,
    catalog,
    exposures: Exposures | None = None,
    facts=None,
) -> tuple[Experiment, ...]:
    mine = [e for e in running if e.page == page and assignment.arm(e.id) is not None]
    if not any(e.targeted for e in mine):
        return tuple(mine)
    from storefront.rules.matching import facts_for, holds

    facts = facts() if facts is not None else facts_for(ctx, page, page_args, catalog)
    out = []
    for e in mine:
        if e.targeted:
            try:
                if not holds(e.when, facts):
                    continue
            except Exception:  # a bad condition leaves the visitor out; the page is served
                log.exception("experiment %s: targeting could not be evaluated", e.id)
                continue
            if exposures is not None:
                exposures.note(e.id, ctx.visitor_id, assignment.arm(e.id))
        out.append(e)
    return tuple(out)
