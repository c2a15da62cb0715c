"""Experiments as data: validated definitions in SQL, and each worker's view of the running ones.

Workers re-read the running experiments every few seconds (one small query), so starting or
stopping an experiment reaches every worker without a restart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.layouts import DEFAULTS, PAGE_TYPES, STRATEGY_NAMES
from storefront.versioned import Versioned

METRICS = ("ctr", "add_to_cart_rate", "conversion", "revenue_per_visitor")


def problems(exc: ValidationError) -> list[str]:
    """Each validation error as "field.path: message", for the studio, the CLI and nested
    checks alike."""
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {msg}" if where else msg)
    return out


class ArmSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_-]{1,30}$")
    share: float = Field(gt=0, le=1)
    value: str = Field(min_length=1, max_length=64)  # a strategy, a model version or rules version


class ExperimentSpec(BaseModel):
    """What a publisher declares; refused with a message naming the field when it is wrong."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9-]{3,40}$")
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["strategy", "model", "rules"]
    page: str
    slot: str | None = None
    arms: list[ArmSpec] = Field(min_length=2, max_length=5)
    metric: Literal["ctr", "add_to_cart_rate", "conversion", "revenue_per_visitor"]
    conditions: dict | None = None  # who takes part: the same conditions as a rule's `when`

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, v: dict | None) -> dict | None:
        if not v:
            return None
        from storefront.rules.schema import Condition

        try:
            cond = Condition.model_validate(v)
        except ValidationError as exc:
            raise ValueError(problems(exc)[0]) from None
        return cond.model_dump(mode="json", by_alias=True, exclude_none=True) or None

    @field_validator("page")
    @classmethod
    def _page(cls, v: str) -> str:
        if v not in PAGE_TYPES:
            raise ValueError(f"one of {', '.join(PAGE_TYPES)}")
        return v

    @model_validator(mode="after")
    def _coherent(self):
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms: names must be unique")
        if abs(sum(a.share for a in self.arms) - 1.0) > 1e-6:
            raise ValueError("arms: shares must add up to 1")
        if self.kind == "strategy":
            slots = {s.id for s in DEFAULTS[self.page].slots}
            if self.slot not in slots:
                raise ValueError(f"slot: one of {', '.join(sorted(slots))} on the {self.page} page")
            for a in self.arms:
                if a.value not in STRATEGY_NAMES:
                    raise ValueError(f"arms: unknown strategy {a.value!r}")
        return self


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    kind: str
    page: str
    slot: str | None
    arms: tuple[tuple[str, float, str], ...]  # (name, share, value)
    metric: str
    status: str
    started: datetime | None
    stopped: datetime | None
    conditions: dict | None = None

    @property
    def salt(self) -> str:
        return f"experiment:{self.id}"

    def arm_value(self, arm: str) -> str:
        return next(v for n, _, v in self.arms if n == arm)

    @property
    def targeted(self) -> bool:
        return bool(self.conditions)

    @cached_property
    def when(self):
        """The targeting as a rule Condition (None: every visitor of the page takes part)."""
        if not self.conditions:
            return None
        from storefront.rules.schema import Condition

        return Condition.model_validate(self.conditions)


def _row_to_experiment(r) -> Experiment:
    arms = tuple((a["name"], float(a["share"]), a["value"]) for a in json.loads(r["arms"]))
    return Experiment(
        r["id"],
        r["name"],
        r["kind"],
        r["page"],
        r["slot"],
        arms,
        r["metric"],
        r["status"],
        r["started"],
        r["stopped"],
        json.loads(r["conditions"]) if r["conditions"] else None,
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create(engine: Engine, spec: ExperimentSpec) -> Experiment:
    with engine.begin() as conn:
        if conn.execute(select(db.experiments.c.id).where(db.experiments.c.id == spec.id)).first():
            raise ValueError(f"id: an experiment {spec.id!r} exists already")
        conn.execute(
            db.experiments.insert().values(
                id=spec.id,
                name=spec.name,
                kind=spec.kind,
                page=spec.page,
                slot=spec.slot,
                arms=json.dumps([a.model_dump() for a in spec.arms]),
                metric=spec.metric,
                conditions=json.dumps(spec.conditions) if spec.conditions else None,
                status="draft",
                created=_now(),
            )
        )
    return get(engine, spec.id)


def get(engine: Engine, experiment_id: str) -> Experiment:
    with engine.connect() as conn:
        row = (
            conn.execute(select(db.experiments).where(db.experiments.c.id == experiment_id))
            .mappings()
            .first()
        )
    if row is None:
        raise LookupError(f"id: no experiment {experiment_id!r}")
    return _row_to_experiment(row)


def list_all(engine: Engine) -> list[Experiment]:
    with engine.connect() as conn:
        rows = conn.execute(select(db.experiments).order_by(db.experiments.c.created)).mappings()
        return [_row_to_experiment(r) for r in rows]


def _move(engine: Engine, experiment_id: str, before: str, after: str, stamp: str) -> Experiment:
    """draft -> running -> stopped, and only that way; the status check is in the UPDATE so
    two publishers clicking at once cannot both win."""
    with engine.begin() as conn:
        moved = conn.execute(
            db.experiments.update()
            .where(db.experiments.c.id == experiment_id, db.experiments.c.status == before)
            .values(status=after, **{stamp: _now()})
        ).rowcount
    exp = get(engine, experiment_id)
    if not moved:
        raise ValueError(
            f"status: only a {before} experiment can become {after} (this one is {exp.status})"
        )
    return exp


def start(engine: Engine, experiment_id: str) -> Experiment:
    return _move(engine, experiment_id, "draft", "running", "started")


def stop(engine: Engine, experiment_id: str) -> Experiment:
    return _move(engine, experiment_id, "running", "stopped", "stopped")


class RunningExperiments:
    """The running experiments as a Versioned[tuple[Experiment, ...]]: the probe is the sorted
    ids of the running ones (one small query; an experiment's definition never changes once it
    runs), the load reads their rows. A database that is down keeps what was held."""

    def __init__(self, engine: Engine, refresh_seconds: float = 3.0):
        self._engine = engine
        self.versioned: Versioned[tuple[Experiment, ...]] = Versioned(
            "experiments", self._running_ids, self._load, refresh_seconds, fallback=()
        )

    def _running_ids(self) -> tuple[str, ...]:
        with self._engine.connect() as conn:
            ids = conn.execute(
                select(db.experiments.c.id).where(db.experiments.c.status == "running")
            ).scalars()
            return tuple(sorted(ids))

    def _load(self, ids: tuple[str, ...], _previous) -> tuple[Experiment, ...]:
        if not ids:
            return ()
        with self._engine.connect() as conn:
            rows = (
                conn.execute(
                    select(db.experiments)
                    .where(db.experiments.c.id.in_(ids))
                    .order_by(db.experiments.c.id)
                )
                .mappings()
                .all()
            )
        return tuple(_row_to_experiment(r) for r in rows)

    def get(self) -> tuple[Experiment, ...]:
        """The running experiments now (a request reads them once: storefront/holders.py)."""
        return self.versioned.get()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "experiment"
