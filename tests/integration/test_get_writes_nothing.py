"""A GET changes nothing in SQL: the shopper's pages, the API's pages, the health check and the
studio's sign-in page leave every table as they found it, a targeted experiment included (its
exposure waits in Redis until the visitor's events arrive: experiments/exposures.py)."""

from __future__ import annotations

from sqlalchemy import delete, select

from storefront import db
from storefront.experiments import store
from storefront.experiments.exposures import HOLDOUT_ID

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def tables(engine) -> dict[str, list]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in db.metadata.sorted_tables
        }


def test_a_get_leaves_the_sql_tables_unchanged(app):
    engine = app.extensions["db"]
    app.extensions["experiments"].holder.versioned.check_seconds = 0.0
    with engine.begin() as conn:
        conn.execute(delete(db.experiments))
        conn.execute(delete(db.experiment_exposures))
    spec = store.ExperimentSpec(
        id="phones-get",
        name="Trending for phones",
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        conditions={"device": "mobile"},  # targeted: the page notes who it let in
        arms=[
            {"name": "control", "share": 0.000001, "value": "for_you"},
            {"name": "trending", "share": 0.999999, "value": "trending_near_you"},
        ],
    )
    store.start(engine, store.create(engine, spec).id)
    try:
        phone = app.test_client()
        h = {"User-Agent": PHONE}
        phone.get("/", headers=h)  # the cookie-less first page
        catalog = app.extensions["models"].get().catalog
        pid = next(iter(catalog.products))
        slug = catalog.products[pid].category
        before = tables(engine)
        for path in (
            "/",
            "/",
            f"/c/{slug}",
            f"/p/{pid}",
            "/search?q=mug",
            "/cart",
            "/me",
            "/api/v1/pages/home",
            "/healthz",
            "/admin/login",
        ):
            assert phone.get(path, headers=h).status_code < 500, path
        assert tables(engine) == before
        # the visitor's events note the exposure: the write is on the event path
        seen = {"id": "get-seen-1", "type": "impression", "product_id": pid, "slot": "for-you"}
        seen |= {"page": "home", "ts": 1733400000000}
        assert phone.post("/events", json={"events": [seen]}, headers=h).status_code == 202
        with engine.connect() as conn:
            noted = conn.execute(select(db.experiment_exposures.c.experiment_id)).scalars().all()
        assert sorted(noted) == sorted(["phones-get", HOLDOUT_ID])  # and the holdout group
    finally:
        with engine.begin() as conn:
            conn.execute(delete(db.events).where(db.events.c.id.like("get-seen-%")))
            conn.execute(delete(db.experiments))
            conn.execute(delete(db.experiment_exposures))
