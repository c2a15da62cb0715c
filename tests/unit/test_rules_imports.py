"""The rules modules import one way: yamlio (YAML text) builds on validate (plain data)."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "storefront" / "rules"


def _imports(module: str) -> set[str]:
    tree = ast.parse((RULES / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):  # function-level imports count too: they are cycles put off
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_validate_does_not_import_yamlio():
    assert "storefront.rules.yamlio" not in _imports("validate")
    assert "storefront.rules.validate" in _imports("yamlio")


def test_yamlio_still_offers_the_resolver():
    from storefront.rules import validate, yamlio

    assert yamlio.resolver is validate.resolver
    resolve = validate.resolver({"rules": [{"name": "x", "when": {"country": ["DE"]}}]})
    assert resolve(("rules", 0, "when", "country", 0)) == (
        ("rules", 0, "when", "country", 0),
        "when.country[0]",
    )
