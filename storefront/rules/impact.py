"""Impact before publishing: for a sample of the shop's recent real visits (the event log,
`rules/visits.py`), how many pages the draft changes compared with the published rules, how,
and how many of the sampled visits each rule matches.

Layouts and item policies are compared (not rendered products), so a few hundred visits take
milliseconds. The sample explains itself (its size, its period, what it was drawn from) and
says when there are too few recent visits to judge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from storefront.catalog import Catalog
from storefront.layouts import layout_for
from storefront.rules.apply import Sizing, resolve
from storefront.rules.holder import Published
from storefront.rules.matching import facts_for, matched
from storefront.rules.personas import context_for
from storefront.rules.schema import Condition
from storefront.rules.visits import Sample, Visit


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
    sample: Sample | None = None  # where the visits came from
    os_rules: list[str] = field(default_factory=list)  # rules that state an operating system

    def os_note(self) -> str | None:
        """Said beside the counts when a rule states an operating system that the sampled
        history does not (fully) record; None otherwise."""
        note = self.sample.os_note() if self.sample and self.os_rules else None
        if note is None:
            return None
        return f"{note} ({', '.join(self.os_rules)})"

    @property
    def share(self) -> float:
        return self.changed / self.sampled if self.sampled else 0.0


def _states_os(condition: Condition | None) -> bool:
    """Whether a condition tree names the operating system anywhere."""
    if condition is None:
        return False
    return (
        condition.os is not None
        or _states_os(condition.not_)
        or any(_states_os(c) for c in (*(condition.all_ or ()), *(condition.any_ or ())))
    )


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
    sample: Sample,
    catalog: Catalog,
    live: Published,
    draft: Published,
    settings,
    examples: int = 25,
) -> Impact:
    """The draft against the published rules on every sampled visit."""
    out = Impact(sample=sample)
    out.os_rules = sorted({r.name for r in (*live.enabled, *draft.enabled) if _states_os(r.when)})
    for visit in sample.visits:
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
