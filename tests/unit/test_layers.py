"""No import cycles between modules anywhere in storefront/ or recommender/.

import-linter (run by scripts/test.sh) holds the layers' contracts; its acyclic contract looks at
siblings inside a package, so this test looks at every module: each strongly connected
component of the import graph must be a single module.
"""

from __future__ import annotations

import grimp


def _cycles(graph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in graph.modules:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("storefront", "recommender", exclude_type_checking_imports=True)
    # a package's __init__ that hands names on is not a cycle with its own modules
    cycles = [c for c in _cycles(graph) if not _package_and_children(c)]
    assert cycles == []


def _package_and_children(component: list[str]) -> bool:
    root = min(component, key=len)
    return all(m == root or m.startswith(root + ".") for m in component)


def test_a_cycle_is_found_when_there_is_one():
    class Graph:  # two modules importing each other, and one that imports them
        modules = {"a", "b", "c"}
        edges = {"a": {"b"}, "b": {"a"}, "c": {"a"}}

        def find_modules_directly_imported_by(self, m):
            return self.edges[m]

    assert _cycles(Graph()) == [["a", "b"]]
