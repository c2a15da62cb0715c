"""Measurement from the event log: per arm, per slot, over time; attribution; exposure curves.

Definitions (docs/experiments.md has them in prose):
- exposed visitors: visitors with an impression or click in the experiment's slot (strategy
  experiments) or anywhere (model and rules experiments) between start and stop, holdout
  excluded; their arm is recomputed from the same stable hash the shop used; a targeted
  experiment counts only the visitors its conditions let in (experiments/exposures.py);
- CTR: clicks / seen impressions; add-to-cart rate and conversion: share of exposed visitors
  with at least one; revenue per visitor: purchase revenue (catalog price x quantity) / visitor;
- attribution: a purchase belongs to the slot of the last click on that product by that
  visitor within ATTRIBUTION_WINDOW before it ("direct" otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.experiments import exposures
from storefront.experiments.bucketing import choose, in_holdout
from storefront.experiments.stats import Comparison, compare_means, compare_proportions
from storefront.experiments.store import Experiment

ATTRIBUTION_WINDOW = timedelta(hours=24)


@dataclass
class ArmResult:
    arm: str
    visitors: set[str] = field(default_factory=set)
    impressions: int = 0
    clicks: int = 0
    carters: set[str] = field(default_factory=set)
    purchasers: set[str] = field(default_factory=set)
    revenue: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_slot: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    # page type -> [impressions, clicks, add-to-carts] (events from before pages were sent: "-")
    by_page: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    attributed: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    daily: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def value(self, metric: str) -> float:
        n = len(self.visitors)
        if metric == "ctr":
            return self.clicks / self.impressions if self.impressions else 0.0
        if metric == "add_to_cart_rate":
            return len(self.carters) / n if n else 0.0
        if metric == "conversion":
            return len(self.purchasers) / n if n else 0.0
        return sum(self.revenue.values()) / n if n else 0.0

    def row(self) -> dict:
        return {
            "arm": self.arm,
            "visitors": len(self.visitors),
            "impressions": self.impressions,
            "clicks": self.clicks,
            "ctr": round(self.value("ctr"), 5),
            "add_to_cart_rate": round(self.value("add_to_cart_rate"), 5),
            "conversion": round(self.value("conversion"), 5),
            "revenue_per_visitor": round(self.value("revenue_per_visitor"), 4),
        }


def _events(engine: Engine, since: datetime | None, until: datetime | None):
    q = select(
        db.events.c.visitor,
        db.events.c.type,
        db.events.c.product_id,
        db.events.c.slot,
        db.events.c.page,
        db.events.c.ts,
        db.events.c.quantity,
    ).order_by(db.events.c.ts)
    if since is not None:
        q = q.where(db.events.c.ts >= since)
    if until is not None:
        q = q.where(db.events.c.ts <= until)
    with engine.connect() as conn:
        return conn.execute(q).all()


def measure(
    engine: Engine, exp: Experiment, prices: dict[str, float], holdout_share: float
) -> dict[str, ArmResult]:
    rows = _events(engine, exp.started, exp.stopped)
    shares = [(n, s) for n, s, _ in exp.arms]
    results = {n: ArmResult(n) for n, _, _ in exp.arms}
    arm_of: dict[str, str | None] = {}

    def arm(visitor: str) -> str | None:
        if visitor not in arm_of:
            arm_of[visitor] = (
                None if in_holdout(visitor, holdout_share) else choose(exp.salt, visitor, shares)
            )
        return arm_of[visitor]

    in_scope = (lambda slot: slot == exp.slot) if exp.kind == "strategy" else (lambda slot: True)
    exposed: set[str] = set()
    last_click: dict[tuple[str, str], tuple[datetime, str]] = {}
    for r in rows:
        if r.type in ("impression", "click") and in_scope(r.slot):
            exposed.add(r.visitor)
    if exp.targeted:  # only the visitors its conditions let in (noted by the pages)
        exposed &= set(exposures.exposed(engine, exp.id))
    for r in rows:
        if r.visitor not in exposed or (a := arm(r.visitor)) is None:
            continue
        res = results[a]
        res.visitors.add(r.visitor)
        day = r.ts.date().isoformat()
        page = r.page or "-"
        if r.type == "impression" and in_scope(r.slot):
            res.impressions += 1
            res.by_slot[r.slot or "-"][0] += 1
            res.by_page[page][0] += 1
            res.daily[day][0] += 1
        elif r.type == "click":
            if in_scope(r.slot):
                res.clicks += 1
                res.by_slot[r.slot or "-"][1] += 1
                res.by_page[page][1] += 1
                res.daily[day][1] += 1
            if r.product_id:
                last_click[(r.visitor, r.product_id)] = (r.ts, r.slot or "-")
        elif r.type == "add_to_cart":
            res.carters.add(r.visitor)
            res.by_page[page][2] += 1
        elif r.type == "purchase" and r.product_id:
            res.purchasers.add(r.visitor)
            amount = prices.get(r.product_id, 0.0) * (r.quantity or 1)
            res.revenue[r.visitor] += amount
            clicked = last_click.get((r.visitor, r.product_id))
            slot = clicked[1] if clicked and r.ts - clicked[0] <= ATTRIBUTION_WINDOW else "direct"
            res.attributed[slot] += amount
    return results


def compare(exp: Experiment, results: dict[str, ArmResult]) -> list[Comparison]:
    """Every arm against the first (control) on the declared primary metric."""
    control_name = exp.arms[0][0]
    c = results[control_name]
    out = []
    for name, _, _ in exp.arms[1:]:
        t = results[name]
        if exp.metric == "ctr":
            out.append(compare_proportions("ctr", c.clicks, c.impressions, t.clicks, t.impressions))
        elif exp.metric in ("add_to_cart_rate", "conversion"):
            pick = (
                (lambda r: r.carters)
                if exp.metric == "add_to_cart_rate"
                else (lambda r: r.purchasers)
            )
            out.append(
                compare_proportions(
                    exp.metric, len(pick(c)), len(c.visitors), len(pick(t)), len(t.visitors)
                )
            )
        else:
            out.append(
                compare_means(
                    exp.metric,
                    [c.revenue.get(v, 0.0) for v in c.visitors],
                    [t.revenue.get(v, 0.0) for v in t.visitors],
                )
            )
    return out


def exposure_curve(engine: Engine, since: datetime | None = None) -> dict:
    """Impressions per visitor (histogram) and CTR by how often a product was already shown:
    the pressure curve that the exposure back-off acts on."""
    per_visitor: dict[str, int] = defaultdict(int)
    shown: dict[tuple[str, str], int] = defaultdict(int)
    at_k: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # k -> [impressions, clicks]
    for r in _events(engine, since, None):
        if not r.product_id:
            continue
        pair = (r.visitor, r.product_id)
        if r.type == "impression":
            per_visitor[r.visitor] += 1
            shown[pair] += 1
            at_k[min(shown[pair], 10)][0] += 1
        elif r.type == "click" and shown[pair] > 0:
            at_k[min(shown[pair], 10)][1] += 1
    histogram: dict[str, int] = defaultdict(int)
    for n in per_visitor.values():
        bucket = (
            "1"
            if n == 1
            else "2-5"
            if n <= 5
            else "6-20"
            if n <= 20
            else "21-100"
            if (n <= 100)
            else "100+"
        )
        histogram[bucket] += 1
    return {
        "visitors": len(per_visitor),
        "impressions_per_visitor": dict(histogram),
        "ctr_by_exposure": {k: (c / i if i else 0.0) for k, (i, c) in sorted(at_k.items())},
    }
