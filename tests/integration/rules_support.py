"""Shared by the rules and studio integration tests: a clean rules state around each test, and
publishing a rule set the way the studio does."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete

from storefront import db
from storefront.rules import store
from storefront.rules.validate import check

MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FR_EVENING = "/?qa_country=FR&qa_time=2011-12-05T19:30"


def wipe(engine) -> None:
    """The session's shop is shared by every test: leave no rules, versions or users behind."""
    with engine.begin() as conn:
        tables = (db.rule_drafts, db.rule_versions, db.audit_log, db.admin_sessions)
        for table in (*tables, db.admin_users):
            conn.execute(delete(table))


def wiped_rules(app):
    """Around a test: no rules, versions or users in this app's own database (either test
    store's: the grocery store's is not the demo's), before and after; yields its engine."""
    engine = app.extensions["db"]
    wipe(engine)
    app.extensions["rules"].reload()
    yield engine
    wipe(engine)
    app.extensions["rules"].reload()


@pytest.fixture
def clean_rules(app):
    yield from wiped_rules(app)


def catalog_of(app):
    return app.extensions["models"].get().catalog


def publish(app, rules: list[dict[str, Any]], actor: str = "test") -> store.Version:
    """Replace the draft and publish it; this app's worker sees it at once (others poll)."""
    engine = app.extensions["db"]
    catalog = catalog_of(app)
    ruleset = check({"rules": rules}, catalog)
    store.replace_draft(engine, actor, ruleset)
    version = store.publish(engine, actor, catalog=catalog)
    app.extensions["rules"].reload()
    return version


def outside(catalog, category: str) -> str:
    """A product that is not in `category` (so pinning it into that rail is visible)."""
    return next(p.id for p in catalog.products.values() if p.category != category)
