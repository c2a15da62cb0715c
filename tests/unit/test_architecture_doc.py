"""docs/architecture.md's module table is the map a newcomer reads: keep it true.

Every module of storefront/ and recommender/ has one row, in the layer it belongs to; no row
names a module that is gone; and no module imports from a layer above the one the table puts it
in (the same graph as tests/unit/test_layers.py: grimp, annotation-only imports excluded).
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("storefront", "recommender")
LAYER = re.compile(r"^### (\d+)\. ")
ROW = re.compile(r"^\| `([\w/.-]+\.py)` \|")


def documented(text: str) -> dict[str, int]:
    """module path -> layer number, from the rows under "## Modules"'s "### N. …" headings.
    A path listed twice maps to -1 (a module has one row)."""
    section = text.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    layer = 0
    for line in section.splitlines():
        if m := LAYER.match(line):
            layer = int(m.group(1))
        elif m := ROW.match(line):
            path = m.group(1)
            layers[path] = -1 if path in layers else layer
    return layers


def modules_on_disk() -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def missing_and_stale(text: str, on_disk: set[str]) -> tuple[list[str], list[str]]:
    rows = documented(text)
    return sorted(on_disk - rows.keys()), sorted(rows.keys() - on_disk)


def module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def upward_imports(layers: dict[str, int], graph) -> list[str]:
    """Imports from a module to one the table puts in a layer above it (a smaller number)."""
    by_module = {module_name(p): n for p, n in layers.items()}
    found = []
    for importer, layer in sorted(by_module.items()):
        if importer not in graph.modules:
            continue  # an Alembic revision: a script, not an importable module
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            target = by_module.get(imported)
            if target is None or importer.startswith(imported + "."):
                continue  # outside the house, or a package's own __init__
            if target < layer:
                found.append(f"{importer} (layer {layer}) -> {imported} (layer {target})")
    return found


def test_every_module_has_one_row_and_every_row_a_module():
    text = DOC.read_text(encoding="utf-8")
    missing, stale = missing_and_stale(text, modules_on_disk())
    assert missing == [], f"add a row for each to docs/architecture.md's module table: {missing}"
    assert stale == [], f"rows for modules that no longer exist: {stale}"
    twice = [p for p, n in documented(text).items() if n == -1]
    assert twice == [], f"listed more than once: {twice}"
    assert all(n > 0 for n in documented(text).values()), "a row before any layer heading"


def test_no_module_imports_from_a_layer_above_its_own():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert upward_imports(documented(DOC.read_text(encoding="utf-8")), graph) == []


def test_a_module_missing_from_the_table_is_found():
    text = DOC.read_text(encoding="utf-8")
    without = "\n".join(
        line for line in text.splitlines() if not line.startswith("| `storefront/pages.py` |")
    )
    missing, stale = missing_and_stale(without, modules_on_disk())
    assert missing == ["storefront/pages.py"]
    assert stale == []
    extra = text.replace("\n### 1. ", "\n### 1. \n| `storefront/gone.py` | x |\n", 1)
    assert missing_and_stale(extra, modules_on_disk())[1] == ["storefront/gone.py"]


def test_an_upward_import_is_found():
    class Graph:  # a core module importing a route
        modules = {"storefront.core.plan", "storefront.pages"}

        def find_modules_directly_imported_by(self, m):
            return {"storefront.pages"} if m == "storefront.core.plan" else set()

    layers = {"storefront/pages.py": 4, "storefront/core/plan.py": 6}
    assert upward_imports(layers, Graph()) == [
        "storefront.core.plan (layer 6) -> storefront.pages (layer 4)"
    ]
