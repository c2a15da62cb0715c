"""docs/architecture.md's module table is the map a newcomer reads: keep it true.

Every module of storefront/ and recommender/ has one row, in the layer it belongs to; no row
names a module that is gone; and no module imports from a layer above the one the table puts it
in (the same graph as tests/unit/test_layers.py: grimp, annotation-only imports excluded).
And every file path and every `module.name` that docs/architecture.md and docs/qa.md mention
exists, so a rename that leaves the map behind fails here.
"""

from __future__ import annotations

import ast
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


# ---- the names the docs mention --------------------------------------------------------------

NAMED_DOCS = (DOC, ROOT / "docs" / "qa.md")
FILE = re.compile(r"^[\w./-]+\.(?:py|md|html|js|yaml|sh)$")
DOTTED = re.compile(r"^((?:[a-z_]\w*/)*[a-z_]\w*)\.([A-Za-z_]\w*)(?:\(\))?$")
IN_CODE = re.compile(r"((?:[a-z_]\w*/)*[a-z_]\w*\.[A-Za-z_]\w*)\(")
SEARCHED = ("", "storefront/", "recommender/", "templates/", "docs/", "assets/")


def mentions(text: str) -> set[str]:
    """Backticked words, and the `module.function(` calls inside code blocks."""
    found = {w.strip("(),;:") for span in re.findall(r"`([^`\n]+)`", text) for w in span.split()}
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        found.update(IN_CODE.findall(block))
    return found


def module_file(module: str) -> Path | None:
    """'core/plan', 'storefront/core/plan' or 'pages' -> its file (a module or a package)."""
    for base in ("", "storefront/", "recommender/"):
        for candidate in (f"{base}{module}.py", f"{base}{module}/__init__.py"):
            if (ROOT / candidate).is_file():
                return ROOT / candidate
    return None


def defined_in(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def unknown_names(text: str) -> list[str]:
    """Mentioned files that do not exist, and `module.name`s whose module does not define name
    (words whose first part is no module of ours, like `np.load`, are not ours to check)."""
    bad = []
    for word in sorted(mentions(text)):
        if FILE.match(word) and "/" in word:
            if not any((ROOT / base / word).exists() for base in SEARCHED):
                bad.append(word)
            continue
        m = DOTTED.match(word)
        if m is None or FILE.match(word):
            continue
        module, name = m.groups()
        path = module_file(module)
        if path is None or module_file(f"{module}/{name}") is not None:
            continue  # not one of our modules, or a package's sub-module
        if name not in defined_in(path):
            bad.append(word)
    return bad


def test_every_file_and_name_the_docs_mention_exists():
    for doc in NAMED_DOCS:
        assert unknown_names(doc.read_text(encoding="utf-8")) == [], doc.name


def test_a_renamed_function_is_found():
    text = "`pages.compose` and `core/plan.make_plan` in `storefront/pages.py`\n"
    assert unknown_names(text) == []
    stale = "`pages.render_page()`, `core/plan.make_plans` and `storefront/page.py`\n"
    stale += "```\n ├─ fragments.render_fragment(...)\n```\n"
    assert unknown_names(stale) == [
        "core/plan.make_plans",
        "fragments.render_fragment",
        "pages.render_page",
        "storefront/page.py",
    ]
