"""What a request is built from, read ONCE per request: the model and catalog, the rules, the
running experiments.

Each worker keeps the three in Versioned holders (storefront/versioned.py) that swap without a
restart. A request must not see two versions of one thing (a page stamped with one model
version and built with another), so the first read in a request takes all three at once into a
frozen RequestVersions on `flask.g`; snapshot(), published() and
app.extensions["experiments"].get() read it from there for the rest of the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_request_context, request

from storefront.experiments.store import Experiment, RunningExperiments


@dataclass(frozen=True)
class RequestVersions:
    """The model and catalog, rules and running experiments one request works with.

    (Typed loosely on purpose: model_holder and rules/holder read this module, so it imports
    neither of them back.)"""

    snapshot: Any  # model_holder.Snapshot
    rules: Any  # rules.holder.Published
    experiments: tuple[Experiment, ...]


def request_versions() -> RequestVersions:
    """This request's versions, read from the holders on the first call and kept on `g`.

    Keyed by the request object: a test that holds one app context around several requests
    shares one `g` between them, and each request must still read its own versions."""
    # asked several times a page (the stamp, the hooks, the experiments): `g` is looked up
    # once and read from its dict
    store = g._get_current_object()
    owner = request._get_current_object() if has_request_context() else None
    held = store.__dict__.get("_versions")
    if held is not None and held[0] is owner:
        return held[1]
    ext = current_app.extensions
    snap, rules, running = ext["models"].get(), ext["rules"].get(), ext["experiments"].holder.get()
    versions = _last[0]
    if (
        versions is None
        or versions.snapshot is not snap
        or versions.rules is not rules
        or versions.experiments is not running
    ):  # a holder's value is one object for as long as its version is served: most requests
        # of a worker share one RequestVersions (remembered by the identity of all three)
        versions = _last[0] = RequestVersions(snap, rules, running)
    store._versions = (owner, versions)
    return versions


_last: list[RequestVersions | None] = [None]  # the last one built (one: bounded)


class RequestExperiments:
    """app.extensions["experiments"]: `get()` is this request's running experiments (read once
    per request with the model and the rules); `holder` is the worker's Versioned holder."""

    def __init__(self, holder: RunningExperiments):
        self.holder = holder

    def get(self) -> tuple[Experiment, ...]:
        return request_versions().experiments


def init_app(app: Flask) -> None:
    """The running experiments' holder (model_holder and rules/holder add theirs); the
    database engine must be in place."""
    app.extensions["experiments"] = RequestExperiments(RunningExperiments(app.extensions["db"]))
