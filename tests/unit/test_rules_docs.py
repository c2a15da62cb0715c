"""The merchandiser's guide stays true: every YAML example in docs/rules.md is a valid rule set,
and every error message it quotes is one the shop gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storefront.rules import yamlio

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def as_ruleset(block: str) -> str:
    """Fragments of a rule (a `when:` or an `add:`) are wrapped into a one-rule set."""
    if block.lstrip().startswith("rules:"):
        return block
    indent = "    " if block.lstrip().startswith("when:") else "      "
    body = "\n".join(indent + line for line in block.splitlines())
    if indent == "    ":
        return f"rules:\n  - name: example\n{body}\n    then: {{remove: [trending]}}\n"
    return f"rules:\n  - name: example\n    then:\n{body}\n"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_every_example_in_the_guide_is_valid(block):
    assert yamlio.load(as_ruleset(block)).rules


def test_the_quoted_refusal_is_the_real_one():
    first = as_ruleset(BLOCKS[0]).replace("country: FR", "country: FRA")
    with pytest.raises(ValueError) as info:
        yamlio.load(first)
    message = str(info.value)
    assert message in GUIDE.read_text(encoding="utf-8")
