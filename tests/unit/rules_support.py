"""Builders shared by the rules unit tests: a small catalog, contexts, rules from plain data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.context import Consent, Context
from storefront.rules.facts import Facts
from storefront.rules.matching import facts_for
from storefront.rules.schema import Rule
from storefront.session import SessionState
from storefront.signals import Location, local_time
from storefront.signals.channel import Channel
from storefront.traits import Traits

CATALOG = Catalog(
    [
        Product("A1", "RED HEART MUG", "kitchen-dining", 2.5, datetime(2011, 1, 1), 100),
        Product("A2", "BLUE MUG", "kitchen-dining", 7.5, datetime(2011, 11, 30), 90),
        Product("B1", "PARTY BUNTING", "party", 4.0, datetime(2010, 12, 1), 80),
        Product("B2", "HEART BALLOONS", "party", 1.0, datetime(2011, 12, 1), 70),
        Product("C1", "XMAS STAR", "christmas", 20.0, datetime(2011, 10, 1), 60),
        Product("C2", "SANTA SACK", "christmas", 12.0, datetime(2011, 9, 1), 50),
    ],
    [
        CategoryInfo("kitchen-dining", "Kitchen", 2),
        CategoryInfo("party", "Party", 2),
        CategoryInfo("christmas", "Christmas", 2),
    ],
)
DIRECT = Channel("direct")
NO_TRAITS = Traits()


def ctx(
    country: str | None = "FR",
    when: datetime = datetime(2011, 12, 5, 19, 30, tzinfo=UTC),  # a Monday evening in Paris
    device: str = "mobile",
    views: tuple[str, ...] = (),
    cart: dict[str, int] | None = None,
    channel: Channel = DIRECT,
    recency: str = "returning",
    traits: Traits = NO_TRAITS,
) -> Context:
    visitor = "v" * 22
    return Context(
        visitor_id=visitor,
        new_visitor=recency == "new",
        session=SessionState(visitor, views=views, cart=cart or {}),
        location=Location(country, None, None, None, None, "header"),
        time=local_time(when, country, None, "Europe/London"),
        device=device,
        channel=channel,
        consent=Consent(),
        recency=recency,
        traits=traits,
    )


def facts(page: str = "home", page_args: dict | None = None, **kw: Any) -> Facts:
    return facts_for(ctx(**kw), page, page_args or {}, CATALOG)


def rule(name: str = "r", priority: int = 10, when: dict | None = None, **then: Any) -> Rule:
    data: dict[str, Any] = {"name": name, "priority": priority, "then": then}
    if when is not None:
        data["when"] = when
    return Rule.model_validate(data)
