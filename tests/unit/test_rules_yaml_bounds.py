"""YAML bombs (issue #16, item 3): a deeply nested document, an alias bomb and an oversized
document are refused before they are composed, quickly and in little memory, with a message
naming the problem and its line; a real rule set within the bounds still loads."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from storefront.rules import yamlsafe
from storefront.rules.validate import RulesError
from storefront.rules.yamlio import load, load_rule


def deep(levels: int) -> str:
    return "rules: " + "[" * levels + "]" * levels + "\n"


def alias_bomb(levels: int) -> str:
    """A VALID rule whose condition tree grows ninefold per alias level: before the fix, 6
    levels (362 bytes) loaded in seconds into hundreds of MB; see docs/reliability.md."""
    lines = ["rules:", "- name: x", "  then: {remove: [trending]}", "  when:", "    all:"]
    lines.append("    - &l0 {country: FR}")
    for i in range(1, levels):
        lines.append(f"    - &l{i} {{any: [" + ",".join([f"*l{i - 1}"] * 9) + "]}")
    return "\n".join(lines) + "\n"


def refused(text: str, loader=load) -> tuple[str, float, int]:
    """The refusal's text, the seconds it took and the peak bytes allocated meanwhile."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RulesError) as err:
            loader(text)
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(err.value), took, peak


def test_a_document_nested_3000_deep_is_refused_with_its_line():
    message, took, peak = refused(deep(3000))
    assert message == f"line 1: nested more than {yamlsafe.MAX_DEPTH} levels deep"
    assert took < 5 and peak < 5_000_000  # generous: the machine may be busy


def test_an_alias_bomb_is_refused_quickly_in_little_memory():
    text = alias_bomb(6)
    assert len(text) < 400
    message, took, peak = refused(text)
    assert message == "line 7: aliases (*l0) are not accepted; write the value out"
    assert took < 3 and peak < 2_000_000  # before: seconds and hundreds of MB


def test_the_per_rule_editor_refuses_them_too():
    assert (
        "aliases"
        in refused("name: &n x\ndescription: *n\nthen: {remove: [trending]}\n", load_rule)[0]
    )
    assert "levels deep" in refused("name: " + "[" * 100 + "]" * 100, load_rule)[0]
    assert "aliases (*a)" in refused("a: &a {b: 1}\nc: {<<: *a}\n")[0]  # a merge key too


def test_a_document_with_too_many_values_is_refused_quickly():
    """Within 512 KiB, 12,000 tiny rules took 15 s and 280 MB to check; past MAX_NODES keys
    and values the parser's count refuses them first (3,000 rules of 8 here)."""
    text = "rules:\n" + "".join(
        f"- {{name: r{i}, then: {{remove: [trending]}}}}\n" for i in range(3000)
    )
    message, took, peak = refused(text)
    assert message.endswith(
        f"more than {yamlsafe.MAX_NODES:,} keys and values (a rule has 10 to 40)"
    )
    assert took < 3 and peak < 5_000_000


def test_an_oversized_document_is_refused_by_size():
    text = "rules: []\n" + "# padding\n" * (yamlsafe.MAX_BYTES // 10)
    message, _, _ = refused(text)
    assert message == f"the document is larger than {yamlsafe.MAX_BYTES // 1024} KiB"


def test_a_real_rule_set_within_the_bounds_still_loads():
    nested = "{country: FR}"
    for _ in range(12):  # all/any/not twelve deep: more than anyone writes by hand
        nested = "{not: " + nested + "}"
    text = (
        "rules:\n"
        "- name: Deep but honest\n"
        f"  when: {nested}\n"
        "  then: {remove: [trending]}\n"
        "- name: With an anchor that nothing refers to\n"
        "  when: &w {device: mobile}\n"
        "  then: {remove: [seasonal]}\n"
    )
    names = [r.name for r in load(text).rules]
    assert names == ["Deep but honest", "With an anchor that nothing refers to"]


def test_malformed_yaml_is_still_reported_by_the_loader_with_its_line():
    message, _, _ = refused("rules:\n  - name: [unclosed\n")
    assert message.startswith("line ") and "not valid YAML" in message


def test_small_yaml_fields_in_the_studio_are_read_within_the_same_bounds():
    """Experiment conditions (admin/experiments.py) are read with yamlsafe.safe_load."""
    assert yamlsafe.safe_load("device: mobile\ncountry: [FR, DE]") == {
        "device": "mobile",
        "country": ["FR", "DE"],
    }
    for text, message in (
        ("a: &a [1]\nb: *a", "line 2: aliases (*a) are not accepted; write the value out"),
        (deep(500), "line 1: nested more than 40 levels deep"),
    ):
        with pytest.raises(yamlsafe.YamlRefused) as err:
            yamlsafe.safe_load(text)
        assert str(err.value) == message
