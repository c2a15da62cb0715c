"""One request reads the model, the rules and the running experiments once (storefront/
holders.py): a publish while it runs changes nothing it sees; the next request sees it."""

from __future__ import annotations

from sqlalchemy import delete

from storefront import db
from storefront.experiments import store as experiments
from storefront.model_holder import snapshot
from storefront.rules.holder import published
from tests.integration.rules_support import clean_rules, publish  # noqa: F401 - fixture

HIDE_TRENDING = [
    {"name": "Hide trending", "when": {"page": "home"}, "then": {"remove": ["trending"]}}
]


def test_a_publish_between_two_reads_in_one_request_changes_nothing_it_sees(
    app,
    clean_rules,  # noqa: F811 - the fixture
):
    engine = app.extensions["db"]
    app.extensions["experiments"].holder.versioned.check_seconds = 0.0
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
    spec = experiments.ExperimentSpec(
        id="mid-request",
        name="Started mid-request",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        arms=[
            {"name": "control", "share": 0.5, "value": "for_you"},
            {"name": "trending", "share": 0.5, "value": "trending_near_you"},
        ],
    )
    created = experiments.create(engine, spec)
    try:
        with app.test_request_context("/"):
            snap, rules = snapshot(), published()
            running = app.extensions["experiments"].get()
            # everything a worker can swap, swapped while the request runs
            publish(app, HIDE_TRENDING)
            app.extensions["models"].reload()
            experiments.start(engine, created.id)
            assert app.extensions["rules"].get().label != rules.label  # the worker moved on
            assert app.extensions["models"].get() is not snap
            assert snapshot() is snap and published() is rules  # this request did not
            assert app.extensions["experiments"].get() == running == ()
        with app.test_request_context("/"):  # the next request sees every change
            assert published().label == app.extensions["rules"].get().label
            assert snapshot() is app.extensions["models"].get()
            assert [e.id for e in app.extensions["experiments"].get()] == ["mid-request"]
    finally:
        with engine.begin() as conn:
            conn.execute(delete(db.experiments))


def test_a_page_is_stamped_with_the_versions_it_was_built_from(client, app, clean_rules):  # noqa: F811
    before = client.get("/")
    assert before.headers["X-Rules-Version"] == published_label(app)
    publish(app, HIDE_TRENDING)
    after = client.get("/")
    assert (
        after.headers["X-Rules-Version"]
        == published_label(app)
        != before.headers["X-Rules-Version"]
    )
    assert "trending" not in after.get_data(True)


def published_label(app) -> str:
    return app.extensions["rules"].get().label
