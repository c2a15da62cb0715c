"""The second test store (tests/stores/grocery.py), imported and evaluated through the command:
the served "for you" rail beats popularity on a shop of another kind (figures:
docs/evaluation.md, "Every store learns its own blend")."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.helpers import grocery_orders
from tests.stores.grocery import write_store


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("grocery-shop")
    paths = write_store(home / "export", customers=300)
    orders, args, _ = grocery_orders(paths["orders"])  # as generated: unix-second times
    run_cli(home, "import", "orders", str(orders), *args, env=_env(home))
    return home


def _env(home) -> dict:
    return {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}


def test_the_served_rail_beats_popularity_on_the_grocery_store(home):
    out = run_cli(
        home, "evaluate", "--json", "--models", "popularity,als,item_knn,ease", env=_env(home)
    )
    result = json.loads(out)
    for protocol in ("groups", "new_only"):
        row = result["comparison"][protocol]["returning"]
        assert row["customers"] >= 50
        assert row["served"] > row["popularity"], (protocol, row)


def test_rules_validate_names_a_hide_against_a_pin_and_says_when_nothing_is_found(home):
    _, _, orders = grocery_orders(home / "export" / "orders.csv")
    sku = orders["sku"].value_counts().index[0]  # a product the shop sells
    both = home / "conflicting.yaml"
    both.write_text(
        "rules:\n"
        f"  - name: Staple of the week\n    priority: 50\n    then: {{pin: [{{product: {sku}}}]}}\n"
        f"  - name: Declutter\n    priority: 10\n    then: {{hide: {{products: [{sku}]}}}}\n"
    )
    out = run_cli(home, "rules", "validate", str(both), env=_env(home))
    assert "2 rules, valid." in out
    assert "conflict: Declutter (priority 10) and Staple of the week (priority 50)" in out
    assert f"'Declutter' (priority 10) hides product {sku}" in out
    assert "Staple of the week wins (priority 50 over 10)" in out
    one = home / "quiet.yaml"
    one.write_text(f"rules:\n  - name: Staple\n    then: {{pin: [{{product: {sku}}}]}}\n")
    out = run_cli(home, "rules", "validate", str(one), env=_env(home))
    assert "No conflicts found among the 1 rule." in out
