"""From the matched rules to the page: its slots in order, and each slot's item policy.

Resolution is deterministic. Rules are ranked by priority (higher first), ties by name (A to Z);
for every single thing two rules both decide (a slot's presence or position, a slot setting, a
product's pin or hiding, the lift of one attribute), the higher-ranked rule wins. The page's
slot list chosen by `layout` overrides the structure edits (add, remove, move) of lower-ranked
rules. Every decision and every overruled effect is written down as a Note for the studio.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from storefront.catalog import Catalog
from storefront.layouts import DEFAULTS, Layout, Slot
from storefront.rules.schema import Rule, SlotSpec

FIXED_TITLE = "fixed_title"  # slot param: the rule's title wins over the strategy's own
HERO_SIZE = 3  # products shown with a hero banner's copy
GRID_SIZE = 24


@dataclass(frozen=True)
class Sizing:
    """How many products a slot shows when a rule does not say: phones get shorter rails."""

    compact: bool = False
    rail: int = 8
    compact_rail: int = 4

    def size(self, template: str, declared: int | None = None) -> int:
        if declared is not None:
            return declared
        if template == "hero":
            return HERO_SIZE
        if template == "grid":
            return max(self.compact_rail * 3, GRID_SIZE // 2) if self.compact else GRID_SIZE
        return self.compact_rail if self.compact else self.rail


@dataclass(frozen=True)
class SlotPolicy:
    """What the rules do to one slot's products (applied after the strategy picks them)."""

    pins: tuple[tuple[str, int, str], ...] = ()  # (product, 1-based position, rule), winner first
    hide_products: frozenset[str] = frozenset()
    hide_categories: frozenset[str] = frozenset()
    exempt: frozenset[str] = frozenset()  # pinned by a rule that outranks the hiding one
    lifts: tuple[tuple[str, str, int], ...] = ()  # (attribute, value, +weight boost/-bury)

    def __bool__(self) -> bool:
        return bool(self.pins or self.hide_products or self.hide_categories or self.lifts)

    def digest(self) -> str:
        """Part of the slot's fragment key: the same policy, the same cached fragment."""
        raw = json.dumps(
            [
                self.pins,
                sorted(self.hide_products),
                sorted(self.hide_categories),
                sorted(self.exempt),
                self.lifts,
            ]
        )
        return hashlib.blake2b(raw.encode(), digest_size=5).hexdigest()


@dataclass(frozen=True)
class Note:
    rule: str
    text: str
    applied: bool = True


@dataclass(frozen=True)
class Resolution:
    layout: Layout
    policies: dict[str, SlotPolicy] = field(default_factory=dict)
    matched: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    def policy(self, slot_id: str) -> SlotPolicy | None:
        p = self.policies.get(slot_id)
        return p if p else None


def slot_from(spec: SlotSpec, sizing: Sizing) -> Slot:
    params: dict[str, Any] = {**spec.params, FIXED_TITLE: True}
    if spec.copy_ is not None:
        params["copy"] = spec.copy_.model_dump(exclude_none=True)
    return Slot(
        spec.id,
        spec.strategy,
        spec.title,
        size=sizing.size(spec.template, spec.size),
        template=spec.template,
        params=params,
    )


def _move(order: list[Slot], slot: Slot, position: int) -> None:
    order[:] = [s for s in order if s.id != slot.id]
    order.insert(min(position - 1, len(order)), slot)


def _structure(
    rules: list[Rule], order: list[Slot], pool: dict[str, Slot], sizing: Sizing, notes: list
) -> None:
    """Apply add, remove and move from the lowest-ranked rule to the highest, so the highest
    one's word is the last (and final) one."""
    for rule in reversed(rules):
        for sid in rule.then.remove:
            if any(s.id == sid for s in order):
                order[:] = [s for s in order if s.id != sid]
                notes.append(Note(rule.name, f"removed slot {sid}"))
        for spec in rule.then.add:
            slot = slot_from(spec, sizing)
            at = spec.position or next(
                (i + 1 for i, s in enumerate(order) if s.id == spec.id), len(order) + 1
            )
            _move(order, slot, at)
            notes.append(Note(rule.name, f"added slot {spec.id} at position {at}"))
        for mv in rule.then.move:
            slot = next((s for s in order if s.id == mv.slot), pool.get(mv.slot))
            if slot is None:
                notes.append(Note(rule.name, f"move: no slot {mv.slot} on this page", False))
                continue
            _move(order, slot, mv.position)
            notes.append(Note(rule.name, f"moved slot {mv.slot} to position {mv.position}"))


def _settings(rules: list[Rule], order: list[Slot], sizing: Sizing, notes: list) -> list[Slot]:
    by_id = {s.id: s for s in order}
    for rule in reversed(rules):
        for change in rule.then.set:
            slot = by_id.get(change.slot)
            if slot is None:
                notes.append(Note(rule.name, f"set: no slot {change.slot} on this page", False))
                continue
            fields: dict[str, Any] = {}
            c = change.changes()
            for name in ("strategy", "title", "size", "template"):
                if name in c:
                    fields[name] = c[name]
            params = dict(slot.params)
            if "params" in c:
                kept = {k: params[k] for k in ("copy", FIXED_TITLE) if k in params}
                params = {**c["params"], **kept}
            if "copy" in c:
                params["copy"] = c["copy"].model_dump(exclude_none=True)
            if "title" in c or slot.params.get(FIXED_TITLE):
                params[FIXED_TITLE] = True
            if "template" in c and "size" not in c:
                fields["size"] = sizing.size(c["template"])
            by_id[change.slot] = replace(slot, params=params, **fields)
            notes.append(Note(rule.name, f"set {', '.join(sorted(c))} of slot {change.slot}"))
    return [by_id[s.id] for s in order]


def _hider(rules: list[Rule], pid: str, catalog: Catalog | None) -> Rule | None:
    """The highest-ranked rule that hides this product (by id or by its category)."""
    product = catalog.get(pid) if catalog is not None else None
    for rule in rules:
        hide = rule.then.hide
        if hide is None:
            continue
        if pid in hide.products or (product is not None and product.in_any(hide.categories)):
            return rule
    return None


def resolve(
    page: str,
    base: Layout,
    rules: list[Rule],
    sizing: Sizing,
    catalog: Catalog | None = None,
) -> Resolution:
    """The page's layout and item policies from the matched rules (winner first)."""
    if not rules:
        return Resolution(base)
    rank = {r.name: i for i, r in enumerate(rules)}
    notes: list[Note] = []
    defaults = {s.id: s for s in base.slots}
    pool = {
        s.id: defaults.get(s.id) or replace(s, size=sizing.size(s.template))
        for s in DEFAULTS[page].slots
    }
    for rule in reversed(rules):
        for spec in rule.then.add:
            pool[spec.id] = slot_from(spec, sizing)
    chooser = next((r for r in rules if r.then.layout), None)
    if chooser is not None:
        order = [pool[sid] for sid in chooser.then.layout if sid in pool]
        notes.append(Note(chooser.name, "chose the slots: " + ", ".join(s.id for s in order)))
        for missing in (sid for sid in chooser.then.layout if sid not in pool):
            notes.append(Note(chooser.name, f"layout: no slot {missing} on this page", False))
        structural = rules[: rank[chooser.name]]
        for r in rules[rank[chooser.name] + 1 :]:
            if r.then.add or r.then.remove or r.then.move:
                notes.append(
                    Note(r.name, f"slot changes overruled by the layout of {chooser.name}", False)
                )
    else:
        order = list(base.slots)
        structural = rules
    _structure(structural, order, pool, sizing, notes)
    order = _settings(rules, order, sizing, notes)
    layout = Layout(page, tuple(order))
    policies = _policies(rules, layout, catalog, notes)
    return Resolution(layout, policies, tuple(r.name for r in rules), tuple(notes))


def _policies(
    rules: list[Rule], layout: Layout, catalog: Catalog | None, notes: list[Note]
) -> dict[str, SlotPolicy]:
    rank = {r.name: i for i, r in enumerate(rules)}
    first = layout.slots[0].id if layout.slots else None
    slot_ids = {s.id for s in layout.slots}
    pins: dict[str, list[tuple[str, int, str]]] = {}
    pinned: dict[str, str] = {}  # product -> the rule whose pin counts
    exempt: set[str] = set()
    for rule in rules:  # winner first: the first pin of a product is the one that counts
        for pin in rule.then.pin:
            target = pin.slot or first
            if pin.product in pinned:
                notes.append(
                    Note(
                        rule.name, f"pin of {pin.product} overruled by {pinned[pin.product]}", False
                    )
                )
                continue
            if target not in slot_ids:
                notes.append(Note(rule.name, f"pin: no slot {target} on this page", False))
                continue
            hider = _hider(rules, pin.product, catalog)
            if hider is not None and rank[hider.name] < rank[rule.name]:
                notes.append(
                    Note(rule.name, f"pin of {pin.product} overruled: {hider.name} hides it", False)
                )
                continue
            if hider is not None:
                exempt.add(pin.product)
                notes.append(Note(hider.name, f"hiding of {pin.product} overruled by a pin", False))
            pinned[pin.product] = rule.name
            pins.setdefault(target, []).append((pin.product, pin.position, rule.name))
            notes.append(Note(rule.name, f"pinned {pin.product} at {target} #{pin.position}"))
    # a slot a rule added is that rule's: a lower-ranked rule's hiding does not empty it
    owner: dict[str, int] = {}
    for rule in reversed(rules):
        for spec in rule.then.add:
            owner[spec.id] = rank[rule.name]
    hides: list[tuple[int, frozenset[str], frozenset[str]]] = []
    for rule in rules:
        if rule.then.hide is not None:
            hides.append(
                (
                    rank[rule.name],
                    frozenset(rule.then.hide.products),
                    frozenset(rule.then.hide.categories),
                )
            )
            if rule.then.hide.products or rule.then.hide.categories:
                shown = [*rule.then.hide.products, *rule.then.hide.categories]
                notes.append(Note(rule.name, "hid " + ", ".join(shown)))
    for sid, at in owner.items():
        if sid in slot_ids:
            for rule in rules[at + 1 :]:
                if rule.then.hide is not None and (
                    rule.then.hide.products or rule.then.hide.categories
                ):
                    text = f"hiding in slot {sid} overruled by {rules[at].name}, whose slot it is"
                    notes.append(Note(rule.name, text, False))
    lifts: dict[tuple[str, str], tuple[int, str]] = {}
    for rule in rules:
        for sign, kind, items in ((1, "boost", rule.then.boost), (-1, "bury", rule.then.bury)):
            for lift in items:
                attr = lift.attribute
                if attr in lifts:
                    if (lifts[attr][0] > 0) != (sign > 0):
                        by = lifts[attr][1]
                        notes.append(
                            Note(rule.name, f"{kind} of {attr[1]} overruled by {by}", False)
                        )
                    continue
                lifts[attr] = (sign * lift.weight, rule.name)
                notes.append(Note(rule.name, f"{kind} {attr[0]} {attr[1]} (weight {lift.weight})"))
    lifted = tuple((a, v, w) for (a, v), (w, _) in sorted(lifts.items()))
    out = {}
    for s in layout.slots:
        upto = owner.get(s.id, len(rules))  # the hides of the rules that rank at or above it
        out[s.id] = SlotPolicy(
            pins=tuple(pins.get(s.id, ())),
            hide_products=frozenset().union(*(p for r, p, _ in hides if r <= upto)),
            hide_categories=frozenset().union(*(c for r, _, c in hides if r <= upto)),
            exempt=frozenset(exempt),
            lifts=lifted,
        )
    return out
