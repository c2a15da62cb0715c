"""The demo store's enrichment step: gift categories derived from product titles.

Used only when a store brings no categories of its own (storefront/catalog_import.py imports a
catalog with its taxonomy; then the catalog's categories are the shop's). Order exports carry no
category, so the shop infers one from the title with ordered keyword rules, kept as data in
data/gift_categories.yaml: the first rule with a keyword that appears as a whole word (plural
"S"/"ES" allowed) in the upper-cased title wins. Order encodes intent: seasonal first
("CHRISTMAS MUG" belongs to Christmas), specific phrases before generic words ("TEA TOWEL"
before "TOWEL", "LUNCH BAG" before "BAG"), broad decorative words last. Measured on the
bundled 2010-2011 data, about 9% of products land in "other".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KEYWORD_TABLE = Path(__file__).resolve().parent.parent / "data" / "gift_categories.yaml"


@dataclass(frozen=True)
class Category:
    """A category as shown to shoppers: URL slug and display name."""

    slug: str
    name: str


Rules = tuple[tuple[str, tuple[str, ...]], ...]


def _load_table(path: Path) -> tuple[tuple[Category, ...], Rules]:
    """The keyword table from its YAML file: (categories, rules), checked so a typo in the
    data fails at import with the file and the entry named, not as a wrong category later."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cats = tuple(Category(str(c["slug"]), str(c["name"])) for c in data["categories"])
    known = {c.slug for c in cats}
    rules = []
    for i, rule in enumerate(data["rules"]):
        slug = str(rule["category"])
        if slug not in known:
            raise ValueError(f"{path}: rules[{i}]: unknown category {slug!r}")
        rules.append((slug, tuple(str(k).upper() for k in rule["keywords"])))
    return cats, tuple(rules)


# The demo store's enrichment table, kept as data (data/gift_categories.yaml): the last category
# is the fallback. (category slug, keywords) rules are tried top to bottom.
CATEGORIES, RULES = _load_table(KEYWORD_TABLE)
OTHER = CATEGORIES[-1]
_BY_SLUG = {c.slug: c for c in CATEGORIES}


def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first so a phrase wins over its first word inside one alternation.
    alts = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<![A-Z0-9])(?:{alts})(?:S|ES)?(?![A-Z0-9])")


_COMPILED = tuple((_BY_SLUG[slug], _pattern(words)) for slug, words in RULES)


@lru_cache(maxsize=16384)
def categorize(title: str) -> Category:
    """The category for a product title: the first rule with a whole-word keyword match.

    Titles in shop exports have no category, and shoppers need somewhere to browse; the
    rules are ordered so seasonal and specific phrases beat generic words. Unknown -> "other".
    """
    text = re.sub(r"\s+", " ", str(title or "").upper())
    for category, pattern in _COMPILED:
        if pattern.search(text):
            return category
    return OTHER


def category_by_slug(slug: str | None) -> Category | None:
    """The category with this URL slug, or None (so a bad URL can 404)."""
    return _BY_SLUG.get(slug or "")
