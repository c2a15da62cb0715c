"""Which arm of each running experiment a visitor is in, and what that changes on a page.

Arms are part of the request context and of every fragment key (their digest), so two arms
never share a cached fragment. The holdout sees the non-personalized shop and no experiment.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from storefront.core.context import Assignment
from storefront.experiments.bucketing import choose, in_holdout
from storefront.layouts import Layout

if TYPE_CHECKING:  # the experiments' SQL store stays out of the core's imports
    from storefront.experiments.store import Experiment


NO_ARMS = Assignment(False, ())


def assign(visitor_id: str, running: tuple[Experiment, ...], holdout_share: float) -> Assignment:
    if in_holdout(visitor_id, holdout_share):
        return Assignment(holdout=True)
    if not running:  # no experiment running: no arm (Assignment is frozen: one value for all)
        return NO_ARMS
    arms = tuple(
        sorted((e.id, choose(e.salt, visitor_id, [(n, s) for n, s, _ in e.arms])) for e in running)
    )
    return Assignment(False, arms)


def _mine(page: str, running: tuple[Experiment, ...], assignment: Assignment):
    for e in running:
        arm = assignment.arm(e.id)
        if arm is not None and e.page == page:
            yield e, e.arm_value(arm)


def apply_to_layout(
    layout: Layout, running: tuple[Experiment, ...], assignment: Assignment
) -> Layout:
    """Strategy experiments: the target slot uses the strategy of the visitor's arm."""
    slots = layout.slots
    for e, value in _mine(layout.page, running, assignment):
        if e.kind == "strategy":
            slots = tuple(replace(s, strategy=value) if s.id == e.slot else s for s in slots)
    return replace(layout, slots=slots)


def model_version(page: str, running: tuple[Experiment, ...], assignment: Assignment) -> str | None:
    """Model experiments: the model version the visitor's arm is served on this page."""
    for e, value in _mine(page, running, assignment):
        if e.kind == "model":
            return value
    return None
