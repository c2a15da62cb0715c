"""Validation messages name the rule, the field and the line; YAML round-trips."""

from __future__ import annotations

import pytest

from storefront.rules import yamlio
from storefront.rules.schema import RuleSet
from storefront.rules.validate import RulesError, check
from tests.unit.rules_support import CATALOG

GOOD = """\
rules:
  - name: French mobile evenings
    priority: 50
    schedule: {start: 2024-12-01T00:00, end: "2024-12-24T23:59"}
    when:
      page: home
      device: mobile
      country: FR
      daypart: evening
      not: {holiday: true}
    then:
      add:
        - id: gifts
          strategy: category_top
          title: Gifts for tonight
          params: {category: party}
          position: 1
      pin:
        - product: A1
          slot: gifts
  - name: Hero for email visitors
    when: {channel: email, any: [{utm_campaign: xmas}, {recency: lapsed}]}
    then:
      add:
        - id: hero
          strategy: new_arrivals
          title: New this week
          template: hero
          copy: {headline: Welcome back, text: Fresh for the season, link: /c/party}
          position: 1
      bury: [{price_band: luxury}]
      hide: {categories: [christmas]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        yamlio.load(text, CATALOG)
    return [str(p) for p in info.value.problems]


def test_a_good_document_loads_and_round_trips():
    rs = yamlio.load(GOOD, CATALOG)
    assert [r.name for r in rs.rules] == ["French mobile evenings", "Hero for email visitors"]
    assert rs.rules[0].then.pin[0].product == "A1"
    again = yamlio.load(yamlio.dump(rs), CATALOG)
    assert again == rs
    assert yamlio.dump(again) == yamlio.dump(rs)  # stable text: clean diffs in git


def test_problems_name_rule_field_and_line():
    bad = GOOD.replace("device: mobile", "devise: mobile").replace("country: FR", "country: FRA")
    found = problems(bad)
    assert "line 7: rule 'French mobile evenings': when.devise: unknown field" in found[0]
    assert "did you mean 'device'" in found[0]
    assert found[1] == (
        "line 8: rule 'French mobile evenings': when.country: 'FRA' is not a two-letter "
        "country code such as FR"
    )


def test_semantic_problems_have_lines_too():
    bad = GOOD.replace("strategy: category_top", "strategy: category_tops").replace(
        "product: A1", "product: NOPE"
    )
    found = problems(bad)
    assert found[0].startswith("line 14: rule 'French mobile evenings': then.add[0].strategy:")
    assert "did you mean 'category_top'" in found[0]
    assert found[1] == (
        "line 19: rule 'French mobile evenings': then.pin[0].product: no product 'NOPE' in the "
        "catalog"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("priority: 50", "priority: high", "line 3: rule 'French mobile evenings': priority:"),
        ("params: {category: party}", "params: {}", "category_top needs the parameter 'category'"),
        ("params: {category: party}", "params: {category: gifts}", "'gifts' is not a category"),
        ("slot: gifts", "slot: giftz", "unknown slot 'giftz' (did you mean 'gifts'?)"),
        ('end: "2024-12-24T23:59"', 'end: "2024-11-24T23:59"', "is not before end"),
        ("not: {holiday: true}", "not: {holiday: 5}", "5 is not true, false, or holiday names"),
        (
            "copy: {headline: Welcome back, text: Fresh for the season, link: /c/party}",
            "x: 1",
            "line 29: rule 'Hero for email visitors': then.add[0].x: unknown field",
        ),
        (
            "name: Hero for email visitors",
            "name: French mobile evenings",
            "another rule (#1) has this name",
        ),
        ("bury: [{price_band: luxury}]", "bury: [{price_band: luxury, tag: heart}]", "exactly one"),
    ],
)
def test_messages(old, new, expected):
    assert old in GOOD
    found = problems(GOOD.replace(old, new))
    assert any(expected in f for f in found), found


def test_broken_yaml_names_the_line():
    found = problems("rules:\n  - name: x\n    then: {pin: [\n")
    assert found[0].startswith("line 4: not valid YAML")
    assert problems("just a string")[0] == "line 1: expected a mapping with a `rules:` list"


def test_a_rule_needs_an_effect_and_the_empty_document_is_empty():
    assert any("at least one effect" in p for p in problems("rules: [{name: x, then: {}}]"))
    assert yamlio.load("", CATALOG) == RuleSet()
    assert check({"rules": []}) == RuleSet()


def test_every_bad_rule_is_reported_at_once():
    text = "rules:\n  - {name: a, then: {remove: [nope]}}\n  - {name: b, when: {x: 1}, then: {}}\n"
    found = problems(text)
    assert any(f.startswith("line 2: rule 'a'") for f in found)
    assert any(f.startswith("line 3: rule 'b'") for f in found)
