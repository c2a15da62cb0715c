"""Impact before publishing: for a sample of real visitors and contexts, how many pages the
draft changes compared with the published rules, and how.

The sample comes from the order history: a customer's last order gives a real country, a real
local date and time, and the products they looked at (its lines, as session views); devices
and page types rotate through the sample, and a share of visits is anonymous. Layouts and item
policies are compared (not rendered products), so a few hundred visits take milliseconds.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.catalog import Catalog
from storefront.layouts import PAGE_TYPES, layout_for
from storefront.rules.apply import Sizing, resolve
from storefront.rules.holder import Published
from storefront.rules.matching import facts_for, matched
from storefront.rules.personas import Persona, context_for

DEVICES = ("desktop", "desktop", "mobile", "mobile", "tablet")  # drawn at random
ANONYMOUS_SHARE = 0.2


@dataclass(frozen=True)
class Visit:
    persona: Persona
    page: str
    page_args: dict[str, Any]

    def describe(self) -> str:
        p = self.persona
        who = f"customer {p.customer}" if p.customer else f"{p.recency} visitor"
        where = p.country or "unknown country"
        arg = next(iter(self.page_args.values()), "")
        page = f"{self.page} {arg}".strip()
        return f"{who}, {where}, {p.device}, {p.when}, {page}"


@dataclass
class Change:
    visit: Visit
    kinds: list[str]
    details: list[str]


@dataclass
class Impact:
    sampled: int = 0
    changed: int = 0
    kinds: Counter = field(default_factory=Counter)  # slots added, removed, reordered, ...
    slots_added: Counter = field(default_factory=Counter)
    slots_removed: Counter = field(default_factory=Counter)
    rules_draft: Counter = field(default_factory=Counter)  # visits each rule matches
    rules_live: Counter = field(default_factory=Counter)
    examples: list[Change] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.changed / self.sampled if self.sampled else 0.0


def sample(engine: Engine, catalog: Catalog, n: int = 200, seed: int = 7) -> list[Visit]:
    """n visits drawn from real customers' last orders (seeded: the same sample each time)."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        last = (
            select(
                db.order_lines.c.customer_id,
                func.max(db.order_lines.c.ts).label("ts"),
            )
            .where(db.order_lines.c.customer_id.is_not(None))
            .group_by(db.order_lines.c.customer_id)
            .subquery()
        )
        rows = conn.execute(
            select(last.c.customer_id, last.c.ts, db.customers.c.country)
            .join(db.customers, db.customers.c.id == last.c.customer_id)
            .order_by(last.c.customer_id)
        ).all()
        picked = rng.sample(rows, min(len(rows), n))
        bought: dict[str, list[str]] = {}
        if picked:
            lines = conn.execute(
                select(
                    db.order_lines.c.customer_id, db.order_lines.c.product_id, db.order_lines.c.ts
                )
                .where(db.order_lines.c.customer_id.in_([r.customer_id for r in picked]))
                .order_by(db.order_lines.c.ts.desc())
            ).all()
            for line in lines:
                got = bought.setdefault(line.customer_id, [])
                if (
                    len(got) < 5
                    and line.product_id in catalog.products
                    and line.product_id not in got
                ):
                    got.append(line.product_id)
    visits = []
    for row in picked:
        views = tuple(bought.get(row.customer_id, ()))
        anonymous = rng.random() < ANONYMOUS_SHARE
        country = row.country if row.country and len(row.country) == 2 else None
        persona = Persona(
            country=country,
            device=rng.choice(DEVICES),
            when=row.ts.replace(tzinfo=None).isoformat(timespec="minutes"),
            customer=None if anonymous else row.customer_id,
            recency="new" if anonymous else rng.choice(("returning", "returning", "lapsed")),
            views=() if anonymous else views,
        )
        page = rng.choice(PAGE_TYPES)
        args: dict[str, Any] = {}
        first = catalog.get(views[0]) if views else None
        if page == "product" and first is not None:
            args = {"product_id": first.id}
        elif page == "category" and first is not None:
            args = {"category": first.category, "page": 1}
        elif page == "search":
            args = {"query": first.title.split()[-1].lower() if first else "heart", "page": 1}
        elif page in ("product", "category"):
            page = "home"
        visits.append(Visit(persona, page, args))
    return visits


def _plan(visit: Visit, ctx, catalog: Catalog, rules: Published, settings):
    sizing = Sizing(ctx.compact, settings.rail_size, settings.compact_rail_size)
    base = layout_for(visit.page, ctx.compact, settings.rail_size, settings.compact_rail_size)
    facts = facts_for(ctx, visit.page, visit.page_args, catalog)
    winners = matched(rules.enabled, facts, settings.store_timezone)
    return resolve(visit.page, base, winners, sizing, catalog), winners


def _compare(live, draft) -> tuple[list[str], list[str]]:
    kinds: list[str] = []
    details: list[str] = []
    a = [s.id for s in live.layout.slots]
    b = [s.id for s in draft.layout.slots]
    added = [s for s in b if s not in a]
    removed = [s for s in a if s not in b]
    if added:
        kinds.append("slots added")
        details.append("adds " + ", ".join(added))
    if removed:
        kinds.append("slots removed")
        details.append("removes " + ", ".join(removed))
    common_a = [s for s in a if s in b]
    common_b = [s for s in b if s in a]
    if common_a != common_b:
        kinds.append("slots reordered")
        details.append("order " + " > ".join(b))
    old = {s.id: s for s in live.layout.slots}
    for s in draft.layout.slots:
        if s.id in old and old[s.id] != s:
            kinds.append("slots changed")
            details.append(f"changes {s.id}")
            break
    pins_a = {p for pol in live.policies.values() for p in pol.pins}
    pins_b = {p for pol in draft.policies.values() for p in pol.pins}
    if pins_a != pins_b:
        kinds.append("products pinned")
        details.append("pins " + (", ".join(pid for pid, *_ in sorted(pins_b)) or "none"))

    def hidden(res) -> set:  # every slot's: a slot a rule added keeps only its own hides
        return {h for p in res.policies.values() for h in (*p.hide_products, *p.hide_categories)}

    if hidden(live) != hidden(draft):
        kinds.append("products hidden")
        details.append("hides " + (", ".join(sorted(hidden(draft))) or "nothing"))
    lifts = [{li for pol in r.policies.values() for li in pol.lifts} for r in (live, draft)]
    if lifts[0] != lifts[1]:
        kinds.append("products boosted or buried")
        details.append("lifts " + (", ".join(f"{a} {v}" for a, v, _ in sorted(lifts[1])) or "none"))
    return kinds, details


def measure(
    visits: list[Visit],
    catalog: Catalog,
    live: Published,
    draft: Published,
    settings,
    examples: int = 25,
) -> Impact:
    out = Impact()
    for visit in visits:
        ctx = context_for(visit.persona, settings.store_timezone)
        before, live_rules = _plan(visit, ctx, catalog, live, settings)
        after, draft_rules = _plan(visit, ctx, catalog, draft, settings)
        out.sampled += 1
        out.rules_live.update(r.name for r in live_rules)
        out.rules_draft.update(r.name for r in draft_rules)
        kinds, details = _compare(before, after)
        if not kinds:
            continue
        out.changed += 1
        out.kinds.update(kinds)
        a = {s.id for s in before.layout.slots}
        b = {s.id for s in after.layout.slots}
        out.slots_added.update(b - a)
        out.slots_removed.update(a - b)
        if len(out.examples) < examples:
            out.examples.append(Change(visit, kinds, details))
    return out
