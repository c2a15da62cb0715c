"""Fuzzing the rule YAML with hypothesis: whatever a merchandiser (or a broken export) feeds
the importer, the answer is a rule set or a RulesError naming where it went wrong: never any
other exception. RULES_FUZZ_EXAMPLES sets the count (the long run uses 10,000)."""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.rules.validate import RulesError
from storefront.rules.yamlio import load

EXAMPLES = int(os.environ.get("RULES_FUZZ_EXAMPLES", "300"))
CATALOG = Catalog(
    [
        Product("A1", "RED MUG", "kitchen-dining", 2.5, None, 10),
        Product("B2", "PARTY BUNTING", "party", 4.95, None, 5),
    ],
    [CategoryInfo("kitchen-dining", "Kitchen", 1), CategoryInfo("party", "Party", 1)],
)

KEYS = [
    "name",
    "priority",
    "enabled",
    "when",
    "then",
    "schedule",
    "all",
    "any",
    "not",
    "device",
    "country",
    "daypart",
    "page",
    "weekday",
    "season",
    "holiday",
    "channel",
    "recency",
    "add",
    "remove",
    "move",
    "order",
    "pin",
    "hide",
    "boost",
    "bury",
    "slot",
    "strategy",
    "title",
    "params",
    "position",
    "product",
    "category",
    "id",
    "size",
    "start",
    "end",
    "hero",
    "template",
    "copy",
    "rules",
    "cart_value",
    "viewed_category",
]
VALUES = [
    "mobile",
    "FR",
    "evening",
    "home",
    "party",
    "A1",
    "gifts",
    "for_you",
    "category_top",
    "2011-12-05",
    "<script>alert(1)</script>",
    "",
    "x" * 300,
    "monday",
    "winter",
]

scalars = (
    st.sampled_from(VALUES)
    | st.integers(-(10**6), 10**6)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
documents = st.builds(lambda rules: {"rules": rules}, st.lists(trees, max_size=4)) | trees


def _check(text: str) -> None:
    try:
        load(text, CATALOG)
    except RulesError as err:
        assert err.problems and all(str(p) for p in err.problems)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents)
def test_structured_garbage_is_refused_with_a_reason(doc):
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    _check(text)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=400))
def test_arbitrary_text_is_refused_with_a_reason(text):
    _check(text)
