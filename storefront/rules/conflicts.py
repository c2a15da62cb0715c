"""Conflicts, found while a rule is written: two rules that can hold for the same request and
set contradicting effects, with the one that wins and why.

"Can hold for the same request" is decided on the conditions alone: each rule's condition tree
is brought to a disjunction of conjunctions of atoms, and two conjunctions are compatible when
every fact they both test can take a value both accept. Facts are treated as independent, except
that `weekend` is read as Saturday or Sunday; so the check errs towards warning (e.g. a rule for
`season: winter` and one for `month: 7` are reported, since July is winter in the south).
Schedules must overlap too. With the catalog, `category` conditions are checked against its
pages (a rule for a category and one for a category below it can both hold; two for sibling
categories cannot).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations, product

from storefront.catalog import Catalog
from storefront.rules import overrides
from storefront.rules.facts import CONTAINS, DIMS, MANY, ONE, OPEN, RANGE, Atom, atoms_of
from storefront.rules.schema import WEEKDAYS, Condition, Rule, precedence

MAX_TERMS = 256  # beyond this many alternatives a condition counts as "could match anything"

Term = tuple[Atom, ...]  # a conjunction
EVERYTHING: list[Term] = [()]


def _and(a: list[Term], b: list[Term]) -> list[Term]:
    out = [x + y for x, y in product(a, b) if _satisfiable(x + y)]
    return out if len(out) <= MAX_TERMS else EVERYTHING


def _or(a: list[Term], b: list[Term]) -> list[Term]:
    out = a + b
    return out if len(out) <= MAX_TERMS else EVERYTHING


def _literal(atom: Atom) -> list[Term]:
    """An atom as alternatives; a negated range is below its start or above its end."""
    if DIMS[atom.dim].kind != RANGE or not atom.negated:
        return [(atom,)]
    out: list[Term] = []
    if atom.lo is not None:
        out.append((Atom(atom.dim, hi=atom.lo - 1),))
    if atom.hi is not None:
        out.append((Atom(atom.dim, lo=atom.hi + 1),))
    return out


def dnf(cond: Condition, negated: bool = False) -> list[Term]:
    """The condition as alternatives (OR) of conjunctions (AND) of atoms."""
    parts: list[list[Term]] = [_literal(a.negate() if negated else a) for a in atoms_of(cond)]
    parts += [dnf(c, negated) for c in cond.all_ or ()]
    if cond.any_:
        alts: list[Term] = [] if not negated else EVERYTHING
        for c in cond.any_:
            alts = _and(alts, dnf(c, True)) if negated else _or(alts, dnf(c))
        parts.append(alts)
    if cond.not_ is not None:
        parts.append(dnf(cond.not_, not negated))
    if not parts:
        return [] if negated else EVERYTHING  # "not (always)" never holds
    if negated:  # not (a and b and ...) = (not a) or (not b) or ...
        out: list[Term] = []
        for p in parts:
            out = _or(out, p)
        return out
    result = EVERYTHING
    for p in parts:
        result = _and(result, p)
    return result


def _weekday_atom(atom: Atom) -> Atom:
    days = frozenset(WEEKDAYS[5:]) if True in atom.values else frozenset(WEEKDAYS[:5])
    return Atom("weekday", days, negated=atom.negated)


def _satisfiable(term: Term, catalog: Catalog | None = None) -> bool:
    by_dim: dict[str, list[Atom]] = defaultdict(list)
    for atom in term:
        atom = _weekday_atom(atom) if atom.dim == "weekend" else atom
        by_dim[atom.dim].append(atom)
    if catalog is not None and "category" in by_dim and not _some_page(by_dim["category"], catalog):
        return False
    return all(_dim_ok(dim, atoms) for dim, atoms in by_dim.items())


def _some_page(atoms: list[Atom], catalog: Catalog) -> bool:
    """Is there a category page of the catalog every `category` atom holds on? (A page is in
    its own category and every one above it, so a rule for a parent and one for its child can
    both hold, two for sibling categories cannot.)"""
    for c in catalog.categories:
        path = set(catalog.path_of(c.slug))
        if all(bool(path & a.values) != a.negated for a in atoms):
            return True
    return False


def _dim_ok(dim: str, atoms: list[Atom]) -> bool:
    kind = DIMS[dim].kind
    if kind == ONE:
        allowed = set(DIMS[dim].domain)
        for a in atoms:
            allowed = allowed - a.values if a.negated else allowed & a.values
        return bool(allowed)
    if kind == OPEN:
        positive: set | None = None
        excluded: set = set()
        for a in atoms:
            if a.negated:
                excluded |= a.values
            else:
                positive = set(a.values) if positive is None else positive & a.values
        return positive is None or bool(positive - excluded)
    if kind in (MANY, CONTAINS):
        excluded = set().union(*(a.values for a in atoms if a.negated))
        return all(a.values - excluded for a in atoms if not a.negated)
    lo = max((a.lo for a in atoms if a.lo is not None), default=None)
    hi = min((a.hi for a in atoms if a.hi is not None), default=None)
    return lo is None or hi is None or lo <= hi


def can_both_hold(a: Rule, b: Rule, catalog: Catalog | None = None) -> bool:
    """Is there a request both rules hold for (conditions and schedules)? With the catalog, the
    category pages are known too."""
    if not _schedules_overlap(a, b):
        return False
    return any(_satisfiable(x + y, catalog) for x in dnf(a.when) for y in dnf(b.when))


def _schedules_overlap(a: Rule, b: Rule) -> bool:
    lo = [r.schedule.start for r in (a, b) if r.schedule and r.schedule.start]
    hi = [r.schedule.end for r in (a, b) if r.schedule and r.schedule.end]
    return not lo or not hi or max(lo) < min(hi, default=datetime.max)


@dataclass(frozen=True)
class Conflict:
    """Two rules that can hold together and contradict each other on one thing: both rules
    with their priorities, what they disagree on (naming the product, category or slot), and
    the one that wins."""

    rules: tuple[str, str]
    what: str
    winner: str
    why: str
    priorities: tuple[int, int] = (0, 0)

    def message(self) -> str:
        (a, b), (pa, pb) = self.rules, self.priorities
        return (
            f"{a} (priority {pa}) and {b} (priority {pb}): {self.what}. "
            f"{self.winner} wins ({self.why})."
        )


def _winner(a: Rule, b: Rule) -> tuple[Rule, str]:
    first, second = sorted((a, b), key=precedence)
    if first.priority != second.priority:
        return first, f"priority {first.priority} over {second.priority}"
    return first, f"same priority {first.priority}; names decide, A to Z"


def _contradictions(a: Rule, b: Rule, catalog: Catalog | None) -> list[str]:
    """What a and b both decide differently (order-independent wording)."""
    out: list[str] = []
    ea, eb = a.then, b.then
    if ea.layout and eb.layout:
        out.append("both choose the page's slots and their order (layout)")
    elif ea.layout or eb.layout:
        chooser, other = (a, b) if ea.layout else (b, a)
        if other.then.add or other.then.remove or other.then.move:
            out.append(
                f"{chooser.name} chooses the slots while {other.name} adds, removes or moves"
            )
    moved_a = {m.slot: m.position for m in ea.move} | {
        s.id: s.position for s in ea.add if s.position
    }
    moved_b = {m.slot: m.position for m in eb.move} | {
        s.id: s.position for s in eb.add if s.position
    }
    for slot in sorted(set(moved_a) & set(moved_b)):
        if moved_a[slot] != moved_b[slot]:
            out.append(f"slot {slot} moved to #{moved_a[slot]} and to #{moved_b[slot]}")
    clash = {p for s, p in moved_a.items() if s not in moved_b} & {
        p for s, p in moved_b.items() if s not in moved_a
    }
    for pos in sorted(clash):
        sa = next(s for s, p in moved_a.items() if p == pos)
        sb = next(s for s, p in moved_b.items() if p == pos)
        out.append(f"both put a slot at #{pos} ({sa} and {sb})")
    shown_a = set(moved_a) | {s.slot for s in ea.set}
    shown_b = set(moved_b) | {s.slot for s in eb.set}
    for slot in sorted((set(ea.remove) & shown_b) | (set(eb.remove) & shown_a)):
        out.append(f"slot {slot} is removed by one and placed or changed by the other")
    sets_a = {(s.slot, k): v for s in ea.set for k, v in s.changes().items()}
    sets_b = {(s.slot, k): v for s in eb.set for k, v in s.changes().items()}
    for slot, field in sorted(set(sets_a) & set(sets_b)):
        if sets_a[(slot, field)] != sets_b[(slot, field)]:
            out.append(f"slot {slot}: {field} set to two different values")
    pins_a = {p.product: (p.slot, p.position) for p in ea.pin}
    pins_b = {p.product: (p.slot, p.position) for p in eb.pin}
    for pid in sorted(set(pins_a) & set(pins_b)):
        if pins_a[pid] != pins_b[pid]:
            out.append(f"product {pid} pinned at two places")
    at_a = {(s, pos): pid for pid, (s, pos) in pins_a.items()}
    at_b = {(s, pos): pid for pid, (s, pos) in pins_b.items()}
    for where in sorted(set(at_a) & set(at_b), key=str):
        if at_a[where] != at_b[where]:
            slot = where[0] or "the first slot"
            out.append(f"{at_a[where]} and {at_b[where]} both pinned at {slot} #{where[1]}")
    lifts_a = {li.attribute: 1 for li in ea.boost} | {li.attribute: -1 for li in ea.bury}
    lifts_b = {li.attribute: 1 for li in eb.boost} | {li.attribute: -1 for li in eb.bury}
    for attr in sorted(set(lifts_a) & set(lifts_b)):
        if lifts_a[attr] != lifts_b[attr]:
            out.append(f"{attr[0]} {attr[1]} is boosted by one and buried by the other")
    return out


def conflicts_between(a: Rule, b: Rule, catalog: Catalog | None = None) -> list[Conflict]:
    if not (a.enabled and b.enabled):
        return []
    found = [(what, None, None) for what in _contradictions(a, b, catalog)]
    found += [(f.what, f.winner, f.why) for f in overrides.between(a, b, catalog)]
    if not found or not can_both_hold(a, b, catalog):
        return []
    winner, why = _winner(a, b)
    first, second = sorted((a, b), key=lambda r: r.name.casefold())
    pair, priorities = (first.name, second.name), (first.priority, second.priority)
    return [
        Conflict(pair, what, won or winner.name, because or why, priorities)
        for what, won, because in found
    ]


def find_conflicts(
    rules: list[Rule] | tuple[Rule, ...], catalog: Catalog | None = None
) -> list[Conflict]:
    """Every conflict among the rules (enabled ones only)."""
    out: list[Conflict] = []
    for a, b in combinations(rules, 2):
        out += conflicts_between(a, b, catalog)
    return out


def conflicts_of(
    rule: Rule, others: list[Rule] | tuple[Rule, ...], catalog: Catalog | None = None
) -> list[Conflict]:
    """The conflicts a rule being written has with the rest of the set."""
    out: list[Conflict] = []
    for other in others:
        if other.name != rule.name:
            out += conflicts_between(rule, other, catalog)
    return out
