"""Keeps each worker on the newest published rule set, swapping without a restart.

Once a second a worker asks SQL for the newest version's label (one indexed row); only when it
differs from what the worker holds does it read the rules. A publish from the studio, the CLI or
another machine is seen the same way. The polling is storefront/versioned.py's, like the
model's; a request reads the rules once (holders.py) and finishes on the rules it started with.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storefront import db
from storefront.rules.schema import Rule, RuleSet
from storefront.versioned import Current, Versioned

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
    """The newest published rule set as a Versioned[Published]: the probe is the newest
    version's label (one indexed row), the load reads that version's rules."""

    def __init__(self, engine: Engine, check_seconds: float = CHECK_SECONDS):
        self._engine = engine
        self.versioned: Versioned[Published] = Versioned(
            "rules",
            self._newest_label,
            self._load,
            check_seconds,
            fallback=NONE,  # keep serving the defaults until the database answers
            errors=(SQLAlchemyError, ValueError),
            pinned_max=8,
        )

    def _newest_label(self) -> str | None:
        with self._engine.connect() as conn:
            newest = select(db.rule_versions.c.label).order_by(db.rule_versions.c.id.desc())
            return conn.execute(newest.limit(1)).scalar()

    def _load(self, label: str | None, _previous: Current[Published] | None) -> Published:
        if label is None:
            return NONE
        with self._engine.connect() as conn:
            row = conn.execute(
                select(db.rule_versions.c.label, db.rule_versions.c.body).where(
                    db.rule_versions.c.label == label
                )
            ).first()
        published = Published.of(row.label, RuleSet.model_validate(json.loads(row.body)))
        log.info("rules %s in use (%d rules)", published.label, len(published.rules))
        return published

    def get(self) -> Published:
        """The newest rules (outside a request; a request reads published())."""
        return self.versioned.get()

    def pinned(self, label: str) -> Published:
        """A given version (QA snapshot pin, a rules experiment arm); LookupError if none."""
        if label == DEFAULT_LABEL:
            return NONE
        return self.versioned.pinned(label, self._load_pinned)

    def _load_pinned(self, label: str) -> Published:
        from storefront.rules import store

        version = store.get_version(self._engine, label)
        if version is None:
            raise LookupError(f"rules: no version {label!r}")
        return Published.of(version.label, version.ruleset)

    def reload(self) -> Published:
        """Read the newest version now (after a publish in this worker; the others poll)."""
        return self.versioned.reload()


def init_app(app: Flask) -> None:
    app.extensions["rules"] = RulesHolder(app.extensions["db"])


def published() -> Published:
    """The rules for this request, read once per request (holders.py): a QA snapshot may pin a
    version, else the newest."""
    from storefront.holders import request_versions

    pin = g._get_current_object().__dict__.get("pin")  # g's dict: one proxy lookup
    if pin is not None and pin.rules:
        holder: RulesHolder = current_app.extensions["rules"]
        return holder.pinned(pin.rules)
    return request_versions().rules
