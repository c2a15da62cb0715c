"""One-line summaries of a rule's conditions and effects for the studio's tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storefront.rules.schema import Condition, Effects, Rule, to_data


def _value(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, dict):
        return " ".join(f"{k} {_value(x)}" for k, x in v.items())
    return str(v).lower() if isinstance(v, bool) else str(v)


def conditions(cond: Condition) -> str:
    data = to_data(Rule(name="x", when=cond, then=Effects(remove=("x",)))).get("when", {})
    if not data:
        return "every request"
    return _describe(data)


def _describe(data: dict[str, Any]) -> str:
    parts = []
    for k, v in data.items():
        if k in ("all", "any"):
            parts.append(f"{k} of ({'; '.join(_describe(c) for c in v)})")
        elif k == "not":
            parts.append(f"not ({_describe(v)})")
        else:
            parts.append(f"{k.replace('_', ' ')} {_value(v)}")
    return " · ".join(parts)


def effects(e: Effects, slot: Callable[[str], str], product: Callable[[str], str]) -> str:
    """The effects in a line; `slot` names a slot id for the merchandiser (its title), `product`
    a product code (its title from the catalog)."""
    parts = []
    if e.layout:
        parts.append("slots " + ", ".join(map(slot, e.layout)))
    parts += [f"add “{a.title}”" + (f" at #{a.position}" if a.position else "") for a in e.add]
    parts += [f"remove {slot(s)}" for s in e.remove]
    parts += [f"move {slot(m.slot)} to #{m.position}" for m in e.move]
    parts += [f"set {slot(s.slot)} {', '.join(s.changes())}" for s in e.set]
    parts += [
        f"pin {product(p.product)} at {slot(p.slot) if p.slot else 'first slot'} #{p.position}"
        for p in e.pin
    ]
    parts += [f"boost {b.attribute[0]} {b.attribute[1]}" for b in e.boost]
    parts += [f"bury {b.attribute[0]} {b.attribute[1]}" for b in e.bury]
    if e.hide is not None:
        hidden = [*map(product, e.hide.products), *e.hide.categories]
        if hidden:
            parts.append("hide " + ", ".join(hidden))
    return " · ".join(parts)


def schedule(rule: Rule) -> str:
    s = rule.schedule
    if s is None:
        return "always"
    start = s.start.strftime("%Y-%m-%d %H:%M") if s.start else "…"
    end = s.end.strftime("%Y-%m-%d %H:%M") if s.end else "…"
    return f"{start} – {end}"
