"""Keeps each worker on the newest published rule set, swapping without a restart.

Once a second a worker asks SQL for the newest version's label (one indexed row); only when it
differs from what the worker holds does it read the rules. A publish from the studio, the CLI or
another machine is seen the same way. The swap is one reference assignment, like
model_holder.py: a request in flight finishes on the rules it started with.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storefront import db
from storefront.rules.schema import Rule, RuleSet

log = logging.getLogger(__name__)
CHECK_SECONDS = 1.0
DEFAULT_LABEL = "default"  # no version published yet: the default layouts


@dataclass(frozen=True)
class Published:
    label: str
    rules: tuple[Rule, ...] = ()
    enabled: tuple[Rule, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, label: str, ruleset: RuleSet) -> Published:
        return cls(label, ruleset.rules, tuple(r for r in ruleset.rules if r.enabled))


NONE = Published(DEFAULT_LABEL)


class RulesHolder:
    def __init__(self, engine: Engine, check_seconds: float = CHECK_SECONDS):
        self._engine = engine
        self._check = check_seconds
        self._lock = threading.Lock()
        self._next = 0.0
        self._current: Published | None = None
        self._pinned: dict[str, Published] = {}

    def _load_latest(self) -> Published:
        with self._engine.connect() as conn:
            newest = select(db.rule_versions.c.label).order_by(db.rule_versions.c.id.desc())
            label = conn.execute(newest.limit(1)).scalar()
            if label is None:
                return NONE
            if self._current is not None and label == self._current.label:
                return self._current
            row = conn.execute(
                select(db.rule_versions.c.label, db.rule_versions.c.body).where(
                    db.rule_versions.c.label == label
                )
            ).first()
        published = Published.of(row.label, RuleSet.model_validate(json.loads(row.body)))
        log.info("rules %s in use (%d rules)", published.label, len(published.rules))
        return published

    def get(self) -> Published:
        now = time.monotonic()
        if self._current is not None and now < self._next:
            return self._current
        with self._lock:
            if self._current is None or now >= self._next:
                try:
                    self._current = self._load_latest()
                except (SQLAlchemyError, ValueError) as exc:
                    # keep serving what we have; the first load may fall back to defaults
                    log.warning("could not read published rules: %s", exc)
                    self._current = self._current or NONE
                self._next = now + self._check
        return self._current

    def pinned(self, label: str) -> Published:
        """A given version (QA snapshot pin, a rules experiment arm); LookupError if none."""
        from storefront.rules import store

        with self._lock:
            found = self._pinned.get(label)
        if found is not None:
            return found
        if label == DEFAULT_LABEL:
            return NONE
        version = store.get_version(self._engine, label)
        if version is None:
            raise LookupError(f"rules: no version {label!r}")
        found = Published.of(version.label, version.ruleset)
        with self._lock:
            if len(self._pinned) >= 8:
                self._pinned.pop(next(iter(self._pinned)))
            self._pinned[label] = found
        return found

    def reload(self) -> Published:
        with self._lock:
            self._current = self._load_latest()
            self._next = time.monotonic() + self._check
            return self._current


def init_app(app: Flask) -> None:
    app.extensions["rules"] = RulesHolder(app.extensions["db"])


def published() -> Published:
    """The rules for this request: a QA snapshot may pin a version, else the newest."""
    holder: RulesHolder = current_app.extensions["rules"]
    pin = g.get("pin")
    if pin is not None and pin.rules:
        return holder.pinned(pin.rules)
    return holder.get()
