"""The pure core context (storefront/core/context.py): the one consent function, and a core
that imports neither Flask nor Redis nor SQLAlchemy."""

from __future__ import annotations

import grimp
import pytest

from storefront import strategies
from storefront.context import Consent as WebConsent
from storefront.context import Context as WebContext
from storefront.core.context import Consent, Context, consent
from storefront.layouts import STRATEGY_NAMES


def test_the_web_side_reexports_the_core_types():
    assert WebContext is Context and WebConsent is Consent


def test_privacy_signals_switches_and_the_holdout_in_one_function():
    assert consent() == Consent()
    assert consent(gpc=True) == Consent(False, False, True, True, True, "Global Privacy Control")
    assert consent(dnt=True).reason == "Do Not Track"
    assert consent(gpc=True, dnt=True).reason == "Global Privacy Control"
    assert consent(prefs={"off:location": "1"}) == Consent(location=False)
    off = consent(prefs={"off:personalization": "1"})
    assert off == Consent(True, False, False, False, False, "personalization switched off")
    # the holdout: nothing personal, the device still shapes the layout, tracking as allowed
    assert consent(holdout=True) == Consent(True, False, False, True, False, "holdout")
    assert consent(gpc=True, holdout=True) == Consent(False, False, False, True, False, "holdout")
    assert consent(prefs={"off:device": "1"}, holdout=True).device is False


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("storefront", "recommender", include_external_packages=True)


@pytest.mark.parametrize("module", ["storefront.core.context", "storefront.core.ports"])
@pytest.mark.parametrize("forbidden", ["flask", "redis", "sqlalchemy"])
def test_the_core_imports_neither_flask_nor_redis_nor_sqlalchemy(graph, module, forbidden):
    assert graph.find_shortest_chain(importer=module, imported=forbidden) is None


def test_the_strategy_names_experiments_check_are_the_registered_strategies():
    assert set(STRATEGY_NAMES) == set(strategies.REGISTRY)


def test_context_experiments_strategies_is_no_cycle(graph):
    """context -> experiments.assign -> experiments.store -> strategies -> context was one."""
    assert (
        graph.find_shortest_chain("storefront.experiments.store", "storefront.strategies") is None
    )
    assert graph.find_shortest_chain("storefront.core.context", "storefront.context") is None
