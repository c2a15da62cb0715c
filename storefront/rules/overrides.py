"""Hides against what another rule shows: a hide that a higher-ranked pin or added slot
overrules, and a higher-ranked hide that makes a pin, an added slot or a boost do nothing.

The findings follow `rules/apply.py` exactly: a product pinned by a rule that ranks above
every rule hiding it is shown (the hide is overruled for it); a pin ranked below a hide is
dropped; a slot a rule adds keeps only the hides of rules ranked at or above it; a hide always
wins over a boost (hidden products are filtered before any lift). Hides reach products through
their categories at any level of the taxonomy (`Product.in_any`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from storefront.catalog import Catalog
from storefront.rules.schema import Hide, Rule, precedence


@dataclass(frozen=True)
class Finding:
    """One contradiction between a hide and what the other rule shows, with its winner."""

    what: str
    winner: str
    why: str


def _who(rule: Rule) -> str:
    return f"{rule.name!r} (priority {rule.priority})"


def _product(pid: str, catalog: Catalog | None) -> str:
    p = catalog.get(pid) if catalog is not None else None
    return f"product {pid} ({p.display_title})" if p is not None else f"product {pid}"


def _category(slug: str, catalog: Catalog | None) -> str:
    label = catalog.category_label(slug) if catalog is not None else None
    return f"category {slug} ({label})" if label and label != slug else f"category {slug}"


def _path(slug: str, catalog: Catalog | None) -> tuple[str, ...]:
    return catalog.path_of(slug) if catalog is not None else (slug,)


def hides_product(hide: Hide, pid: str, catalog: Catalog | None) -> str | None:
    """How the hide reaches the product ("product X" or "category Y, which holds it"), or None."""
    if pid in hide.products:
        return "hides " + _product(pid, catalog)
    p = catalog.get(pid) if catalog is not None else None
    if p is None:
        return None
    for slug in p.category_path:
        if slug in hide.categories:
            return f"hides {_category(slug, catalog)}, which holds {_product(pid, catalog)}"
    return None


def hides_category(hide: Hide, slug: str, catalog: Catalog | None) -> str | None:
    """The hidden category that holds all of `slug` (itself or one above it), or None."""
    for level in _path(slug, catalog):
        if level in hide.categories:
            return level
    return None


def _reaches(hide: Hide, spec, catalog: Catalog | None) -> str:
    """What of the hide an added slot could show: for the top of one category, the hidden
    products and categories within it (or above it); for any other strategy, all of them."""
    slug = spec.params.get("category") if spec.strategy == "category_top" else None
    if not isinstance(slug, str):
        return ", ".join([*hide.products, *hide.categories])
    path = set(_path(slug, catalog))
    cats = [c for c in hide.categories if c in path or slug in _path(c, catalog)]
    prods = [
        p
        for p in hide.products
        if catalog is not None and (found := catalog.get(p)) is not None and found.in_any({slug})
    ]
    return ", ".join([*prods, *cats])


def _ranks_above(a: Rule, b: Rule) -> bool:
    return precedence(a) < precedence(b)


def _why(winner: Rule, loser: Rule) -> str:
    if winner.priority != loser.priority:
        return f"priority {winner.priority} over {loser.priority}"
    return f"same priority {winner.priority}; names decide, A to Z"


def findings(hider: Rule, other: Rule, catalog: Catalog | None) -> Iterator[Finding]:
    """What `hider`'s hide does to `other`'s pins, added slots and boosts."""
    hide = hider.then.hide
    if hide is None or not (hide.products or hide.categories):
        return
    above = _ranks_above(hider, other)
    for pin in other.then.pin:
        how = hides_product(hide, pin.product, catalog)
        if how is None:
            continue
        if above:
            text = (
                f"{_who(hider)} {how}, so the pin of {pin.product} by {_who(other)} does "
                "nothing (the pin is dropped)"
            )
            yield Finding(text, hider.name, _why(hider, other))
        else:
            text = (
                f"{_who(hider)} {how}, but {_who(other)} pins it: the pin wins and "
                f"{pin.product} stays on the page"
            )
            yield Finding(text, other.name, _why(other, hider))
    for spec in other.then.add:
        if above:
            slug = spec.params.get("category") if spec.strategy == "category_top" else None
            level = hides_category(hide, slug, catalog) if isinstance(slug, str) else None
            if level is not None:
                text = (
                    f"{_who(hider)} hides {_category(level, catalog)}, so slot {spec.id} "
                    f"that {_who(other)} adds (the top of {slug}) stays empty"
                )
                yield Finding(text, hider.name, _why(hider, other))
        else:
            hidden = _reaches(hide, spec, catalog)
            if hidden:
                text = (
                    f"{_who(hider)} hides {hidden}, but not in slot {spec.id}, which "
                    f"{_who(other)} adds: that slot is its own and may show them"
                )
                yield Finding(text, other.name, _why(other, hider))
    for lift in other.then.boost:
        attr, value = lift.attribute
        if attr != "category":
            continue
        level = hides_category(hide, value, catalog)
        if level is None:
            continue
        text = (
            f"{_who(hider)} hides {_category(level, catalog)}, so the boost of "
            f"{_category(value, catalog)} by {_who(other)} does nothing"
        )
        yield Finding(text, hider.name, "a hide always wins over a boost")


def between(a: Rule, b: Rule, catalog: Catalog | None) -> list[Finding]:
    """Both directions: a's hide against b, and b's hide against a."""
    return [*findings(a, b, catalog), *findings(b, a, catalog)]
