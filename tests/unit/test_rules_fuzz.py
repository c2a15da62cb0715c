"""Fuzzing the rule YAML with hypothesis: whatever a merchandiser (or a broken export) feeds
the importer, the answer is a rule set or a RulesError naming where it went wrong: never any
other exception. And acceptance is checked too: valid rule sets load and round-trip, and the
same sets with one known defect (or a YAML bomb) are refused, naming the defect. Earlier this
file only checked that nothing crashed, so a bad document that was accepted passed.
RULES_FUZZ_EXAMPLES sets the count (the long run uses 10,000)."""

from __future__ import annotations

import copy
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.layouts import DEFAULTS
from storefront.rules import yamlsafe
from storefront.rules.schema import DAYPARTS, DEVICES, SEASONS, WEEKDAYS, RuleSet
from storefront.rules.validate import RulesError
from storefront.rules.yamlio import dump, load

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
    """Refused with reasons, or accepted only if the document really is a list of rules, each
    with a name and effects, and the result survives a round trip through YAML."""
    try:
        ruleset = load(text, CATALOG)
    except RulesError as err:
        assert err.problems and all(str(p) for p in err.problems)
        return
    _accepted_honestly(yaml.safe_load(text), ruleset)


def _accepted_honestly(data, ruleset: RuleSet) -> None:
    assert isinstance(data, dict | list | type(None))
    assert not isinstance(data, dict) or set(data) <= {"rules"}  # `{}`: no rules
    raw = (data.get("rules") if isinstance(data, dict) else data) or []
    assert isinstance(raw, list)
    assert len(raw) == len(ruleset.rules)
    for doc, rule in zip(raw, ruleset.rules, strict=True):
        assert isinstance(doc, dict) and "then" in doc and str(doc["name"]).strip() == rule.name
    assert load(dump(ruleset), CATALOG) == ruleset


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


# ---- valid sets, and the same with one known defect --------------------------------------------

SLOTS = sorted({slot.id for layout in DEFAULTS.values() for slot in layout.slots})
names = st.text(st.sampled_from("abcdefghij KLMNOP"), min_size=1, max_size=20).filter(
    lambda n: n.strip() == n and n
)
conditions = st.fixed_dictionaries(
    {},
    optional={
        "device": st.sampled_from(DEVICES),
        "country": st.lists(st.sampled_from(["FR", "GB", "DE", "US"]), min_size=1, max_size=3),
        "daypart": st.sampled_from(DAYPARTS),
        "weekday": st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3),
        "season": st.sampled_from(SEASONS),
    },
)
effects = st.one_of(
    st.builds(lambda s: {"remove": s}, st.lists(st.sampled_from(SLOTS), min_size=1, max_size=3)),
    st.builds(
        lambda pid, pos: {"pin": [{"product": pid, "position": pos}]},
        st.sampled_from(["A1", "B2"]),
        st.integers(1, 48),
    ),
    st.builds(lambda pid: {"hide": {"products": [pid]}}, st.sampled_from(["A1", "B2"])),
)
rule_sets = st.lists(
    st.fixed_dictionaries(
        {"name": names, "then": effects},
        optional={"when": conditions, "priority": st.integers(0, 1000)},
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda r: r["name"].casefold(),
)


def _unknown_field(rule):
    rule.setdefault("when", {})["colour"] = "red"
    return "when.colour: unknown field (did you mean 'country'?)"


def _bad_country(rule):
    rule.setdefault("when", {})["country"] = ["France"]
    return "when.country[0]: 'FRANCE' is not a two-letter country code"


def _bad_daypart(rule):
    rule.setdefault("when", {})["daypart"] = "brunch"
    return "when.daypart: 'brunch': expected 'morning'"


def _unknown_slot(rule):
    rule["then"] = {"remove": ["no-such-slot"]}
    return "then.remove[0]: unknown slot 'no-such-slot'"


def _unknown_product(rule):
    rule["then"] = {"pin": [{"product": "ZZ9", "position": 1}]}
    return "then.pin[0].product: no product 'ZZ9' in the catalog"


def _priority_out_of_range(rule):
    rule["priority"] = 5000
    return "priority: expected less than or equal to 1000"


def _no_effects(rule):
    del rule["then"]
    return "then: required"


DEFECTS = [
    _unknown_field,
    _bad_country,
    _bad_daypart,
    _unknown_slot,
    _unknown_product,
    _priority_out_of_range,
    _no_effects,
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(rule_sets)
def test_valid_rule_sets_are_accepted_and_round_trip(rules):
    text = yaml.safe_dump({"rules": rules}, sort_keys=False)
    ruleset = load(text, CATALOG)
    _accepted_honestly({"rules": rules}, ruleset)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(rule_sets, st.data())
def test_one_known_defect_is_refused_naming_the_rule_and_field(rules, data):
    rules = copy.deepcopy(rules)
    victim = data.draw(st.integers(0, len(rules) - 1), label="rule")
    defect = data.draw(st.sampled_from(DEFECTS), label="defect")
    expected = defect(rules[victim])
    text = yaml.safe_dump({"rules": rules}, sort_keys=False)
    try:
        load(text, CATALOG)
    except RulesError as err:
        found = [str(p) for p in err.problems if p.rule == rules[victim]["name"]]
        assert any(expected in p for p in found), (expected, found)
    else:
        raise AssertionError(f"accepted a rule set with a defect: {expected}\n{text}")


def test_a_duplicate_name_is_refused():
    rules = [{"name": name, "then": {"remove": ["trending"]}} for name in ("Twice", "twice")]
    text = yaml.safe_dump({"rules": rules})
    try:
        load(text, CATALOG)
    except RulesError as err:
        assert "name: another rule (#1) has this name" in str(err)
    else:
        raise AssertionError("accepted two rules with one name")


# ---- YAML bombs anywhere in a document ----------------------------------------------------------


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=list(HealthCheck))
@given(rule_sets.filter(lambda rules: len(rules) >= 2), st.sampled_from(["then", "when"]))
def test_an_alias_is_refused_even_where_its_value_would_be_valid(rules, key):
    """The last rule reuses the first one's conditions or effects through an anchor and alias
    (what yaml.safe_dump writes for a shared value): valid data, refused all the same."""
    rules = copy.deepcopy(rules)
    rules[-1][key] = rules[0].setdefault(key, {"device": "mobile"})
    text = yaml.safe_dump({"rules": rules}, sort_keys=False)
    assert "*id001" in text
    try:
        load(text, CATALOG)
    except RulesError as err:
        assert "aliases (*id001) are not accepted; write the value out" in str(err)
    else:
        raise AssertionError(f"accepted an alias:\n{text}")


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(yamlsafe.MAX_DEPTH + 1, 5000), st.lists(st.sampled_from("[{"), min_size=1))
def test_nesting_past_the_limit_is_refused_however_it_is_written(depth, opens):
    starts = "".join(opens[i % len(opens)] for i in range(depth))
    text = "rules: " + "".join("{a: " if c == "{" else "[" for c in starts)
    text += "".join("}" if c == "{" else "]" for c in reversed(starts))
    try:
        load(text, CATALOG)
    except RulesError as err:
        assert f"nested more than {yamlsafe.MAX_DEPTH} levels deep" in str(err)
    else:
        raise AssertionError("accepted a document nested too deep")
