"""Checking a rule set: the schema, then what the schema cannot know (strategies, their
parameters, slot names, products), with every problem naming the rule, the field and, for YAML,
the line. A set with any problem is refused whole: nothing half-applies.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from storefront.catalog import Catalog
from storefront.layouts import DEFAULTS
from storefront.rules.schema import CATEGORY_SLUG, Rule, RuleSet

# the parameters each strategy accepts: name -> (check, what it must be)
_UNIT = (lambda v: isinstance(v, int | float) and 0 <= v <= 1, "a number from 0 to 1")
STRATEGY_PARAMS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "category_top": {
        "category": (
            lambda v: isinstance(v, str) and bool(CATEGORY_SLUG.fullmatch(v)),
            "a category slug of the shop",
        )
    },
    "category_listing": {"taste": _UNIT},
    "search_results": {"taste": _UNIT},
}
REQUIRED_PARAMS = {"category_top": ("category",)}
HINTS = {
    "country": "a two-letter country code such as FR",
    "product": "a product code: letters, digits, - or _",
    "products": "a product code: letters, digits, - or _",
    "viewed_product": "a product code: letters, digits, - or _",
    "tag": "one word of a product title, e.g. HEART",
    "link": "a path within the shop, starting with /",
}
UNION_HINTS = {
    "holiday": "true, false, or holiday names such as Christmas Day",
    "upcoming_holiday": "true, false, or holiday names such as Christmas Day",
}
SLUG_HINT = "lower-case letters, digits and -, e.g. gifts-rail"


@dataclass(frozen=True)
class Problem:
    rule: str | None  # the rule's name, when it has one
    field: str  # dotted path within the rule (or the document)
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.rule:
            where.append(f"rule {self.rule!r}")
        if self.field:
            where.append(self.field)
        return f"{': '.join(where)}: {self.message}" if where else self.message


class RulesError(ValueError):
    """The rules were refused; `problems` says where and why, one entry each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


Path = tuple[Any, ...]
LineOf = Callable[[Path], int | None]


def _no_lines(_path: Path) -> int | None:
    return None


def _message(err: dict[str, Any], field: str) -> str:
    kind = err["type"]
    last = field.rsplit(".", 1)[-1] if field else ""
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    if last in UNION_HINTS:
        return f"{err.get('input')!r} is not {UNION_HINTS[last]}"
    if kind == "string_pattern_mismatch":
        hint = HINTS.get(last.split("[")[0], SLUG_HINT)
        return f"{err.get('input')!r} is not {hint}"
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{err.get('input')!r}: {err['msg'].replace('Input should be', 'expected')}"
    return err["msg"].replace("Input should be", "expected")


def _suggest(name: str, model_fields: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def schema_problems(
    exc: ValidationError, base: Path, rule_name: str | None, line_of: LineOf, resolve: Callable
) -> list[Problem]:
    """Pydantic's errors as Problems; `resolve(path)` keeps only the path parts that exist in
    the document (pydantic adds union-member names) and returns (path, field text)."""
    errors = exc.errors()
    locs = [tuple(e["loc"]) for e in errors]
    out: list[Problem] = []
    seen: dict[str, int] = {}
    for err, loc in zip(errors, locs, strict=True):
        if err["type"] == "too_short" and any(o != loc and o[: len(loc)] == loc for o in locs):
            continue  # a consequence of an error inside it
        path, field = resolve(base + loc)
        message = _message(err, field)
        if err["type"] == "extra_forbidden" and field:
            message += _suggest(str(loc[-1]), _fields_near(loc))
        if field in seen:  # a union tried several shapes: one message per field
            p = out[seen[field]]
            if message not in p.message:
                out[seen[field]] = Problem(p.rule, p.field, f"{p.message}; or {message}", p.line)
            continue
        seen[field] = len(out)
        out.append(Problem(rule_name, field, message, line_of(path)))
    return out


def _fields_near(loc: tuple) -> list[str]:
    from storefront.rules import schema

    names = set()
    for model in (schema.Condition, schema.Effects, schema.Rule, schema.SlotSpec, schema.Pin):
        for name, f in model.model_fields.items():
            names.add(f.alias or name)
    return sorted(names)


def semantic_problems(
    rules: list[tuple[int, Rule]], catalog: Catalog | None, line_of: LineOf = _no_lines
) -> list[Problem]:
    """What only the shop knows: its strategies, their parameters, slot names, products."""
    from storefront import strategies  # the registry fills on import

    known_slots = {s.id for layout in DEFAULTS.values() for s in layout.slots}
    known_slots |= {spec.id for _, r in rules for spec in r.then.add}
    out: list[Problem] = []
    for i, rule in rules:

        def bad(path: Path, message: str, rule: Rule = rule, i: int = i) -> None:
            full = ("rules", i, *path)
            out.append(Problem(rule.name, _dotted(path), message, line_of(full)))

        e = rule.then
        for j, spec in enumerate(e.add):
            _check_strategy(bad, ("then", "add", j), spec.strategy, spec.params, strategies)
            if spec.template == "hero" and spec.copy_ is None:
                bad(("then", "add", j, "template"), "a hero banner needs copy (a headline)")
        for j, change in enumerate(e.set):
            if change.strategy or change.params is not None:
                _check_strategy(
                    bad,
                    ("then", "set", j),
                    change.strategy,
                    change.params,
                    strategies,
                    partial=True,
                )
        refs: list[tuple[Path, str]] = [
            (("then", "layout", j), s) for j, s in enumerate(e.layout or ())
        ]
        refs += [(("then", "remove", j), s) for j, s in enumerate(e.remove)]
        refs += [(("then", "move", j, "slot"), m.slot) for j, m in enumerate(e.move)]
        refs += [(("then", "set", j, "slot"), s.slot) for j, s in enumerate(e.set)]
        refs += [(("then", "pin", j, "slot"), p.slot) for j, p in enumerate(e.pin) if p.slot]
        for path, sid in refs:
            if sid not in known_slots:
                hint = _suggest(sid, known_slots) or f"; known: {', '.join(sorted(known_slots))}"
                bad(path, f"unknown slot {sid!r}{hint}")
        if catalog is not None:
            products = [(("then", "pin", j, "product"), p.product) for j, p in enumerate(e.pin)]
            if e.hide is not None:
                products += [
                    (("then", "hide", "products", j), p) for j, p in enumerate(e.hide.products)
                ]
            for path, pid in products:
                if catalog.get(pid) is None:
                    bad(path, f"no product {pid!r} in the catalog")
            for path, slug in _category_refs(rule.model_dump(by_alias=True, exclude_none=True)):
                if catalog.category_name(slug) is None:
                    bad(path, _unknown_category(slug, catalog))
    return out


CATEGORY_KEYS = ("category", "categories", "viewed_category", "affinity")


def _category_refs(data: Any, path: Path = ()):
    """(path, slug) of every category a rule names: conditions at any depth, lifts, hides
    and strategy parameters."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in CATEGORY_KEYS and isinstance(value, str):
                yield (*path, key), value
            elif key in CATEGORY_KEYS and isinstance(value, list | tuple):
                for j, slug in enumerate(value):
                    if isinstance(slug, str):
                        yield (*path, key, j), slug
            else:
                yield from _category_refs(value, (*path, key))
    elif isinstance(data, list | tuple):
        for j, value in enumerate(data):
            yield from _category_refs(value, (*path, j))


def _unknown_category(slug: str, catalog: Catalog) -> str:
    names = [c.slug for c in catalog.categories]
    listed = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    hint = _suggest(slug, names)
    return f"{slug!r} is not a category of the shop{hint}; its categories: {listed}"


def _check_strategy(bad, path: Path, name, params, strategies, partial: bool = False) -> None:
    if name is not None and strategies.get(name) is None:
        names = sorted(strategies.REGISTRY)
        bad(
            (*path, "strategy"),
            f"unknown strategy {name!r}{_suggest(name, names)}; one of {', '.join(names)}",
        )
        return
    if name is None:  # params changed on a slot whose strategy the rule does not name
        return
    allowed = STRATEGY_PARAMS.get(name, {})
    for key, value in (params or {}).items():
        if key not in allowed:
            what = ", ".join(allowed) or "none"
            bad((*path, "params", key), f"{name} takes no parameter {key!r} (it takes: {what})")
        elif not allowed[key][0](value):
            bad((*path, "params", key), f"{value!r} is not {allowed[key][1]}")
    if not partial or params is not None:
        for key in REQUIRED_PARAMS.get(name, ()):
            if key not in (params or {}):
                bad((*path, "params"), f"{name} needs the parameter {key!r}")


def _dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def resolver(data: Any) -> Callable[[Path], tuple[Path, str]]:
    """Map a pydantic error path to the part that exists in the data, and its field text
    (within its rule: `when.country[0]`)."""

    def resolve(path: Path) -> tuple[Path, str]:
        node: Any = data
        taken: list[Any] = []
        for part in path:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            elif isinstance(node, dict) and isinstance(part, str) and _is_field(part):
                node = None  # a missing or unknown field: name it, stop walking
            else:
                continue
            taken.append(part)
        within = taken[2:] if taken[:1] == ["rules"] else taken
        text = ""
        for part in within:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return tuple(taken), text

    return resolve


def _is_field(part: str) -> bool:
    return part.replace("_", "").isalnum() and len(part) < 40


def check(data: Any, catalog: Catalog | None = None, line_of: LineOf = _no_lines) -> RuleSet:
    """Validate plain data ({"rules": [...]}) into a RuleSet, or raise RulesError with every
    problem found (each rule is checked on its own, so one bad rule does not hide others)."""
    resolve = resolver(data)
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or set(data) - {"rules"}:
        extra = sorted(set(data) - {"rules"}) if isinstance(data, dict) else []
        field = extra[0] if extra else ""
        raise RulesError(
            [
                Problem(
                    None,
                    field,
                    "expected a mapping with a `rules:` list",
                    line_of((field,) if field else ()),
                )
            ]
        )
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RulesError([Problem(None, "rules", "expected a list of rules", line_of(("rules",)))])
    problems: list[Problem] = []
    valid: list[tuple[int, Rule]] = []
    for i, raw in enumerate(raw_rules):
        name = raw.get("name") if isinstance(raw, dict) else None
        name = name if isinstance(name, str) and name.strip() else None
        try:
            valid.append((i, Rule.model_validate(raw)))
        except ValidationError as exc:
            problems += schema_problems(exc, ("rules", i), name or f"#{i + 1}", line_of, resolve)
    seen: dict[str, int] = {}
    for i, rule in valid:
        folded = rule.name.casefold()
        if folded in seen:
            message = f"another rule (#{seen[folded] + 1}) has this name"
            problems.append(Problem(rule.name, "name", message, line_of(("rules", i, "name"))))
        seen.setdefault(folded, i)
    problems += semantic_problems(valid, catalog, line_of)
    if problems:
        raise RulesError(sorted(problems, key=lambda p: p.line or 0))
    return RuleSet(rules=tuple(r for _, r in valid))
