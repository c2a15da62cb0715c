"""Rules in YAML, for teams that keep them in git: load with line numbers, dump stably.

The document is composed once into YAML nodes (which carry their line) and once into plain
data; a validation problem's path is walked through the nodes to find the line to report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from pydantic import ValidationError

from storefront.catalog import Catalog
from storefront.rules.schema import Rule, RuleSet, ruleset_data, to_data
from storefront.rules.validate import Problem, RulesError, check, resolver, schema_problems
from storefront.rules.yamlsafe import MAX_BYTES, YamlRefused, compose_and_load

Path = tuple[Any, ...]
__all__ = ["MAX_BYTES", "dump", "dump_rule", "load", "load_rule", "read"]


def _walk(node: yaml.Node | None, path: Path) -> tuple[list[yaml.Node], Path]:
    """The nodes along `path` (as far as it exists in the document) and the parts found."""
    found: list[yaml.Node] = []
    taken: list[Any] = []
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if nxt is None:
                continue  # e.g. a union member's name pydantic adds to the path
            found.append(nxt[0])  # the key's line is where the field is written
            node = nxt[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                continue
            node = node.value[part]
            found.append(node)
        else:
            continue
        taken.append(part)
    return found, tuple(taken)


def line_finder(root: yaml.Node | None) -> Callable[[Path], int | None]:
    def line_of(path: Path) -> int | None:
        nodes, _ = _walk(root, path)
        if nodes:
            return nodes[-1].start_mark.line + 1
        return root.start_mark.line + 1 if root is not None else None

    return line_of


def read(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's nodes and data, within yamlsafe's bounds (size, depth, no aliases);
    anything else is a RulesError with the line."""
    try:
        return compose_and_load(text)
    except YamlRefused as exc:
        raise RulesError([Problem(None, "", exc.message, exc.line)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = f"not valid YAML: {exc.problem or exc}"
        raise RulesError([Problem(None, "", problem, line)]) from None
    except yaml.YAMLError as exc:
        raise RulesError([Problem(None, "", f"not valid YAML: {exc}")]) from None


def load(text: str, catalog: Catalog | None = None) -> RuleSet:
    """Parse and validate a YAML rules document; RulesError names rule, field and line."""
    root, data = read(text)
    if data is None:
        data = {"rules": []}
    return check(data, catalog, line_finder(root))


HEADER = """\
# Storefront layout rules ({what}).
# Conditions (when) on the request -> effects (then) on the page; see docs/rules.md.
# Import with: storefront rules import FILE   (checks everything first; a refusal changes nothing)
"""


def dump(ruleset: RuleSet, what: str = "draft") -> str:
    return HEADER.format(what=what) + _dump(ruleset_data(ruleset))


def load_rule(text: str) -> tuple[Rule, Callable[[Path], int | None]]:
    """One rule written as a YAML mapping (the studio's per-rule editor). Returns the rule and a
    line finder for problems the rest of the set reveals (`("rules", i, ...)` paths)."""
    root, data = read(text)
    finder = line_finder(root)

    def line_of(path: Path) -> int | None:
        return finder(path[2:] if path[:1] == ("rules",) else path)

    if not isinstance(data, dict):
        raise RulesError([Problem(None, "", "expected one rule: a mapping with name and then", 1)])
    name = data.get("name") if isinstance(data.get("name"), str) else None
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        problems = schema_problems(exc, ("rules", 0), name, line_of, resolver({"rules": [data]}))
        raise RulesError(problems) from None
    return rule, line_of


def dump_rule(rule: Rule) -> str:
    return _dump(to_data(rule))


class _Dumper(yaml.SafeDumper):
    """Never writes an anchor and alias for a value used twice: the loader refuses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
