"""Personalization measured as a whole: the personalized shop against the permanent holdout.

Who is in which group is recorded, not recomputed: each visitor's group as the pages served it,
written at their first recorded event (experiments/exposures.Exposures.enrol, an
`experiment_exposures` row under HOLDOUT_ID), so a change of STOREFRONT_HOLDOUT_SHARE later
moves nobody between groups after the fact.

Over a period [since, until) of event times, per group:
- visitors: enrolled visitors with at least one event in the period;
- click-through: clicks / impressions (seen tiles), with the delta method's interval over
  visitors (one visitor's impressions are not independent of each other);
- conversion: share of the visitors with at least one purchase (Wilson interval);
- revenue per visitor: purchases at catalog price x quantity / visitors (Student's t interval).
And personalized minus holdout for each, with its interval and p-value: the delta method (z)
for click-through, Newcombe's interval and the pooled z-test for conversion, Welch's for
revenue per visitor (experiments/stats.py).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from scipy import stats as sps
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.experiments.exposures import HOLDOUT, HOLDOUT_ID, PERSONALIZED
from storefront.experiments.report import prices
from storefront.experiments.stats import (
    ALPHA,
    Estimate,
    compare_means,
    compare_proportions,
    mean,
    newcombe,
    proportion,
    ratio,
)

GROUPS = (PERSONALIZED, HOLDOUT)
PERIODS = (7, 30, 90)  # the studio's quick choices, in days
DEFAULT_DAYS = 30
MAX_DAYS = 3660
METRICS = (
    ("ctr", "Click-through"),
    ("conversion", "Conversion"),
    ("revenue_per_visitor", "Revenue per visitor"),
)


class PeriodError(ValueError):
    """A period that cannot be read; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Period:
    since: datetime  # naive UTC, as events are stored
    until: datetime  # exclusive
    days: int | None  # "the last N days", or None for dates chosen

    @property
    def first_day(self) -> date:
        return self.since.date()

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).date()

    def label(self) -> str:
        if self.days is not None:
            return f"the last {self.days} days"
        return f"{self.first_day.isoformat()} to {self.last_day.isoformat()}"


def period(
    days: str | int | None = None,
    start: str | None = None,
    end: str | None = None,
    now: datetime | None = None,
) -> Period:
    """The last `days` days up to now, or the days from `start` to `end` (ISO dates, both
    included; either alone: the other defaults to today or DEFAULT_DAYS before). Raises
    PeriodError naming the field."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    if (start or end) and days not in (None, ""):
        raise PeriodError("days", "give either days or from/to dates, not both")
    if start or end:
        first = _day("from", start) if start else None
        last = _day("to", end) if end else now.date()
        first = first or last - timedelta(days=DEFAULT_DAYS - 1)
        if last < first:
            raise PeriodError("to", f"{last.isoformat()} is before from ({first.isoformat()})")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError("from", f"at most {MAX_DAYS} days")
        return Period(datetime.combine(first, time()), datetime.combine(last, time()) + _DAY, None)
    if days in (None, ""):
        n = DEFAULT_DAYS
    else:
        try:
            n = int(days)
        except (TypeError, ValueError):
            raise PeriodError("days", f"a whole number of days, not {str(days)[:20]!r}") from None
        if not 1 <= n <= MAX_DAYS:
            raise PeriodError("days", f"between 1 and {MAX_DAYS}")
    return Period(now - timedelta(days=n), now + timedelta(microseconds=1), n)


_DAY = timedelta(days=1)


def _day(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(field, f"a date as YYYY-MM-DD, not {text[:20]!r}") from None


@dataclass
class Group:
    name: str
    visitors: int
    impressions: int
    clicks: int
    purchasers: int
    revenue: float
    ctr: Estimate
    conversion: Estimate
    revenue_per_visitor: Estimate
    ctr_se: float


@dataclass(frozen=True)
class Difference:
    metric: str
    personalized: float
    holdout: float
    difference: float  # personalized - holdout
    low: float
    high: float
    lift: float | None  # relative to the holdout
    p_value: float


@dataclass
class HoldoutReport:
    period: Period
    holdout_share: float
    groups: dict[str, Group]
    differences: list[Difference]

    def to_json(self) -> dict:
        return {
            "period": {
                "from": self.period.first_day.isoformat(),
                "to": self.period.last_day.isoformat(),
                "days": self.period.days,
            },
            "holdout_share": self.holdout_share,
            "groups": [
                {
                    "group": g.name,
                    "visitors": g.visitors,
                    "impressions": g.impressions,
                    "clicks": g.clicks,
                    "purchasers": g.purchasers,
                    "revenue": _num(g.revenue),
                    **{m: _estimate(getattr(g, m)) for m, _ in METRICS},
                }
                for g in self.groups.values()
            ],
            "differences": [
                {
                    "metric": d.metric,
                    "difference": _num(d.difference),
                    "low": _num(d.low),
                    "high": _num(d.high),
                    "lift": _num(d.lift),
                    "p_value": _num(d.p_value),
                }
                for d in self.differences
            ],
        }

    def csv(self) -> str:
        """One row per metric and group (and the difference), each with its interval and the
        sample size behind it: impressions for click-through, visitors otherwise."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["from", "to", "metric", "group", "value", "ci_low", "ci_high", "n"])
        span = [self.period.first_day.isoformat(), self.period.last_day.isoformat()]
        for metric, _ in METRICS:
            for g in self.groups.values():
                e = getattr(g, metric)
                writer.writerow(
                    [*span, metric, g.name, *(_num(x) for x in (e.value, e.low, e.high)), e.n]
                )
        for d in self.differences:
            n = sum(getattr(g, d.metric).n for g in self.groups.values())
            row = (d.difference, d.low, d.high)
            writer.writerow([*span, d.metric, "personalized-holdout", *(_num(x) for x in row), n])
        return out.getvalue()

    def text(self) -> str:
        p = self.groups[PERSONALIZED]
        h = self.groups[HOLDOUT]
        lines = [
            f"Personalized vs holdout, {self.period.label()} "
            f"({self.period.first_day} to {self.period.last_day}; holdout share "
            f"{self.holdout_share:.0%})",
            f"  visitors: personalized {p.visitors:,}, holdout {h.visitors:,}",
        ]
        for (metric, label), d in zip(METRICS, self.differences, strict=True):
            lines.append(f"{label}:")
            for g in (p, h):
                e = getattr(g, metric)
                lines.append(
                    f"  {g.name:<13} {show(metric, e.value)}  95% CI "
                    f"[{show(metric, e.low)}, {show(metric, e.high)}]  n={e.n:,}"
                )
            lift = f"{d.lift:+.1%}" if d.lift is not None else "n/a"
            lines.append(
                f"  difference    {show(metric, d.difference, signed=True)}  95% CI "
                f"[{show(metric, d.low, signed=True)}, {show(metric, d.high, signed=True)}]  "
                f"lift {lift}  p={d.p_value:.3g}"
            )
        return "\n".join(lines)


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def _estimate(e: Estimate) -> dict:
    return {"value": _num(e.value), "low": _num(e.low), "high": _num(e.high), "n": e.n}


def show(metric: str, x: float | None, signed: bool = False) -> str:
    """A figure as the report prints it: a percentage, or an amount for revenue per visitor."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if metric == "revenue_per_visitor":
        return f"{x:+.2f}" if signed else f"{x:.2f}"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%"


def _per_visitor(engine: Engine, window: Period, price: dict[str, float]) -> dict[str, dict]:
    """group -> visitor -> [impressions, clicks, purchases, revenue], from the event log of
    enrolled visitors in the period (counted in SQL, per visitor, type and product)."""
    ev, xp = db.events.c, db.experiment_exposures.c
    q = (
        select(
            xp.arm,
            ev.visitor,
            ev.type,
            ev.product_id,
            func.count().label("n"),
            func.sum(func.coalesce(ev.quantity, 1)).label("units"),
        )
        .select_from(
            db.events.join(
                db.experiment_exposures,
                and_(xp.visitor == ev.visitor, xp.experiment_id == HOLDOUT_ID),
            )
        )
        .where(ev.ts >= window.since, ev.ts < window.until)
        .group_by(xp.arm, ev.visitor, ev.type, ev.product_id)
    )
    out: dict[str, dict] = {g: defaultdict(lambda: [0, 0, 0, 0.0]) for g in GROUPS}
    with engine.connect() as conn:
        for r in conn.execute(q):
            if r.arm not in out:
                continue
            row = out[r.arm][r.visitor]
            if r.type == "impression":
                row[0] += r.n
            elif r.type == "click":
                row[1] += r.n
            elif r.type == "purchase" and r.product_id:
                row[2] += r.n
                row[3] += price.get(r.product_id, 0.0) * int(r.units or 0)
    return out


def _group(name: str, rows: dict[str, list]) -> Group:
    values = list(rows.values())
    ctr, se = ratio([v[1] for v in values], [v[0] for v in values])
    purchasers = sum(1 for v in values if v[2])
    return Group(
        name=name,
        visitors=len(values),
        impressions=sum(v[0] for v in values),
        clicks=sum(v[1] for v in values),
        purchasers=purchasers,
        revenue=sum(v[3] for v in values),
        ctr=ctr,
        conversion=proportion(purchasers, len(values)),
        revenue_per_visitor=mean([v[3] for v in values]),
        ctr_se=se,
    )


def _differences(p: Group, h: Group, revenue: dict[str, list[float]]) -> list[Difference]:
    def lift(d: float, base: float) -> float | None:
        return d / base if base else None

    out = []
    d = p.ctr.value - h.ctr.value
    se = math.sqrt(p.ctr_se**2 + h.ctr_se**2)
    if math.isfinite(se) and se > 0:
        z = sps.norm.ppf(1 - ALPHA / 2)
        low, high, p_value = d - z * se, d + z * se, float(2 * sps.norm.sf(abs(d) / se))
    else:
        low, high, p_value = float("-inf"), float("inf"), 1.0
    out.append(
        Difference("ctr", p.ctr.value, h.ctr.value, d, low, high, lift(d, h.ctr.value), p_value)
    )
    conv = compare_proportions("conversion", h.purchasers, h.visitors, p.purchasers, p.visitors)
    d = p.conversion.value - h.conversion.value
    low, high = newcombe(p.conversion, h.conversion)
    out.append(
        Difference(
            "conversion",
            p.conversion.value,
            h.conversion.value,
            d,
            low,
            high,
            lift(d, h.conversion.value),
            conv.p_value,
        )
    )
    rpv = compare_means("revenue_per_visitor", revenue[HOLDOUT], revenue[PERSONALIZED])
    d = p.revenue_per_visitor.value - h.revenue_per_visitor.value
    out.append(
        Difference(
            "revenue_per_visitor",
            p.revenue_per_visitor.value,
            h.revenue_per_visitor.value,
            d,
            rpv.ci_low,
            rpv.ci_high,
            lift(d, h.revenue_per_visitor.value),
            rpv.p_value,
        )
    )
    return out


def build(engine: Engine, window: Period, holdout_share: float) -> HoldoutReport:
    rows = _per_visitor(engine, window, prices(engine))
    groups = {name: _group(name, rows[name]) for name in GROUPS}
    revenue = {name: [v[3] for v in rows[name].values()] for name in GROUPS}
    differences = _differences(groups[PERSONALIZED], groups[HOLDOUT], revenue)
    return HoldoutReport(window, holdout_share, groups, differences)
