"""YAML from editors, read within bounds: a size, a nesting depth, and no aliases.

PyYAML's safe loader still composes recursively (3,000 nested `[` is a RecursionError) and
expands aliases into shared references that every later step walks in full (356 bytes of
`&a`/`*a` became 19 MB of rules, 41 s and 1.8 GB). So the document is first read as a stream
of parser events, which PyYAML produces without recursion and without expanding anything:
too large, too deep, too many values or any alias is refused there, naming the line, before a
node is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (20x faster), else PyYAML's own
FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 512 * 1024  # far above any real rule set (the demo's is about 4 KiB)
MAX_DEPTH = 40  # mappings and lists inside each other; a rule with all/any/not needs ~12
# keys, values, lists and mappings: a rule is 10-40, the demo's 30 rules about 700. Within the
# size alone, 512 KiB of short lists took 29-45 s and 400 MB to refuse (docs/reliability.md).
MAX_NODES = 20_000


class YamlRefused(ValueError):
    """The document was not read; `message` says why, `line` (1-based) where, if known."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


def _line(event: yaml.Event) -> int | None:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def check_bounds(
    text: str, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> None:
    """Refuse, before composing anything, a document over `max_bytes`, nested deeper than
    `max_depth`, with more than `max_nodes` keys and values, or using an alias (`*name`,
    `<<: *name`). Malformed YAML passes through to the loader, which reports it with its line."""
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise YamlRefused(f"the document is larger than {max_bytes // 1024} KiB")
    try:
        _check_events(yaml.parse(text, Loader=FAST), max_depth, max_nodes)
    except yaml.YAMLError:
        if FAST is yaml.SafeLoader:
            return  # the loader reports malformed YAML with its line
        try:  # libyaml stops at 1,000 levels with its own error: find the line ourselves
            _check_events(yaml.parse(text, Loader=yaml.SafeLoader), max_depth, max_nodes)
        except yaml.YAMLError:
            return


def _check_events(events: Iterator[yaml.Event], max_depth: int, max_nodes: int) -> None:
    depth = nodes = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused(
                f"aliases (*{event.anchor}) are not accepted; write the value out", _line(event)
            )
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                raise YamlRefused(
                    f"more than {max_nodes:,} keys and values (a rule has 10 to 40)", _line(event)
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise YamlRefused(f"nested more than {max_depth} levels deep", _line(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def compose_and_load(text: str, **bounds: int) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (which carries lines) and its plain data, after check_bounds.
    Raises YamlRefused, or yaml.YAMLError for malformed YAML."""
    check_bounds(text, **bounds)
    try:
        return _compose(text, FAST)
    except yaml.YAMLError:
        if FAST is yaml.SafeLoader:
            raise
        return _compose(text, yaml.SafeLoader)  # raises again, with PyYAML's usual wording


def _compose(text: str, loader_class: type) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def safe_load(text: str, **bounds: int) -> Any:
    """yaml.safe_load within the bounds (for small YAML fields in the studio's forms)."""
    return compose_and_load(text, **bounds)[1]
