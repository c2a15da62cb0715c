"""Rules on a store of another kind: a catalog with a three-level taxonomy and lower-case
product ids (as tests/stores/grocery.py writes them)."""

from __future__ import annotations

from datetime import datetime

import pytest

from storefront.catalog import Catalog, CategoryInfo, Product, ProductDetails
from storefront.rules.conflicts import can_both_hold
from storefront.rules.matching import explain, facts_for, holds
from storefront.rules.schema import Condition, Rule
from storefront.rules.validate import check
from tests.unit.rules_support import ctx

GROCERY = Catalog(
    [
        Product("sku-1", "Cheddar", "cheese", 3.5, datetime(2024, 1, 1), 10),
        Product("SKU-1", "Gouda", "cheese", 4.0, datetime(2024, 1, 1), 9),
        Product("sku-2", "Whole Milk", "milk", 1.2, datetime(2024, 1, 1), 8),
        Product("sku-3", "Granola", "cereal", 2.8, datetime(2024, 1, 1), 7),
    ],
    [
        CategoryInfo("fresh-food", "Fresh Food", 3),
        CategoryInfo("dairy", "Dairy", 3, "fresh-food"),
        CategoryInfo("cheese", "Cheese", 2, "dairy"),
        CategoryInfo("milk", "Milk", 1, "dairy"),
        CategoryInfo("pantry", "Pantry", 1),
        CategoryInfo("cereal", "Cereal", 1, "pantry"),
    ],
)


def on_page(slug: str):
    return facts_for(ctx(), "category", {"category": slug}, GROCERY)


def test_a_category_condition_holds_on_the_pages_below_it():
    fresh = Condition.model_validate({"category": "fresh-food"})
    assert holds(fresh, on_page("fresh-food"))
    assert holds(fresh, on_page("dairy"))  # a level below
    assert holds(fresh, on_page("cheese"))  # two levels below
    assert not holds(fresh, on_page("cereal"))
    # not upwards: a rule for cheese is not for the whole of fresh food
    assert not holds(Condition.model_validate({"category": "cheese"}), on_page("dairy"))
    assert holds(Condition.model_validate({"not": {"category": "pantry"}}), on_page("milk"))
    assert not holds(Condition.model_validate({"not": {"category": "dairy"}}), on_page("milk"))


def test_product_ids_keep_their_case_in_rules():
    rules = check(
        {
            "rules": [
                {
                    "name": "cheddar first",
                    "when": {"product": "sku-2"},
                    "then": {"pin": [{"product": "sku-1"}], "hide": {"products": ["SKU-1"]}},
                }
            ]
        },
        GROCERY,
    )
    rule = rules.rules[0]
    assert rule.then.pin[0].product == "sku-1"
    assert rule.then.hide.products == ("SKU-1",)
    assert rule.when.product == ("sku-2",)
    milk = facts_for(ctx(), "product", {"product_id": "sku-2"}, GROCERY)
    assert holds(rule.when, milk)
    gouda = facts_for(ctx(), "product", {"product_id": "SKU-1"}, GROCERY)
    on_cheddar = Condition.model_validate({"product": "sku-1"})
    assert holds(on_cheddar, facts_for(ctx(), "product", {"product_id": "sku-1"}, GROCERY))
    assert not holds(on_cheddar, gouda)  # another product


def test_basket_values_are_explained_in_the_catalogs_currency():
    euros = Catalog(
        [
            Product(
                "sku-9", "Feta", "cheese", 6.0, None, 1, details=ProductDetails(currency="EUR")
            ),
        ],
        [CategoryInfo("cheese", "Cheese", 1)],
    )
    assert euros.currency == "EUR" and GROCERY.currency is None
    full = facts_for(ctx(cart={"sku-9": 2}), "home", {}, euros)
    reasons = explain(Condition.model_validate({"cart_value": {"min": 10}}), full)
    assert reasons[0].ok and "€12.00" in reasons[0].text and "£" not in reasons[0].text


@pytest.mark.parametrize(
    ("a", "b", "together"),
    [
        ({"category": "fresh-food"}, {"category": "dairy"}, True),  # on the dairy page
        ({"category": "fresh-food"}, {"category": "cheese"}, True),
        ({"category": "cheese"}, {"category": "milk"}, False),  # siblings: never one page
        ({"category": "dairy"}, {"category": "pantry"}, False),
        ({"category": "fresh-food"}, {"not": {"category": "dairy"}}, True),  # on fresh-food
        ({"category": "cheese"}, {"not": {"category": "dairy"}}, False),
    ],
)
def test_rules_for_category_pages_conflict_only_where_one_page_has_both(a, b, together):
    then = {"pin": [{"product": "sku-1"}]}
    ra = Rule.model_validate({"name": "a", "when": a, "then": then})
    rb = Rule.model_validate({"name": "b", "when": b, "then": then})
    assert can_both_hold(ra, rb, GROCERY) is together
    assert can_both_hold(rb, ra, GROCERY) is together


def test_a_hide_of_a_category_reaches_pins_and_boosts_below_it():
    from storefront.rules.conflicts import find_conflicts

    def make(name, priority, **then):
        return Rule.model_validate({"name": name, "priority": priority, "then": then})

    pin = make("Cheddar on top", 80, pin=[{"product": "sku-1"}])
    boost = make("More milk", 5, boost=[{"category": "milk"}])
    hide = make("No dairy", 20, hide={"categories": ["dairy"]})
    found = find_conflicts([pin, boost, hide], GROCERY)
    text = "\n".join(c.message() for c in found)
    assert "hides category dairy (Fresh Food › Dairy), which holds product sku-1" in text
    assert "the pin wins and sku-1 stays on the page" in text
    assert "so the boost of category milk (Fresh Food › Dairy › Milk)" in text
    # SKU-1 is another product: a hide of it says nothing about sku-1's pin
    assert not find_conflicts([pin, make("No gouda", 90, hide={"products": ["SKU-1"]})], GROCERY)
