"""The shop serves LightFM's never-bought products (recommender/cold.py) on the new-arrivals rail
where the store's training kept it: a visitor sees the unsold products that suit their context,
through the whole page (import, train, strategies, page policies)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, insert, select

from storefront import db
from tests.conftest import run_cli
from tests.helpers import products_in
from tests.unit.test_cold import _catalog, _store

MAPPING = ("invoice", "product_id", "title", "quantity", "price", "ts", "customer_id", "country")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The synthetic store of tests/unit/test_cold.py, imported from its orders, with the
    catalog's unsold products added to the order history's products table by hand, as products
    with no orders (test_cold_catalog.py imports a catalog through the command)."""
    home = tmp_path_factory.mktemp("cold-shop")
    catalog = _catalog()
    lines = _store("kind").merge(catalog[["id", "title"]], left_on="product_id", right_on="id")
    lines["customer_id"] = "c" + lines["customer_id"]
    lines[list(MAPPING)].to_csv(home / "orders.csv", index=False)
    env = _env(home)
    args = [f"--map={field}={field}" for field in MAPPING]
    run_cli(home, "import", "orders", str(home / "orders.csv"), *args, env=env)
    engine = create_engine(env["STOREFRONT_DATABASE_URL"])
    with engine.begin() as conn:
        sold = dict(conn.execute(select(db.products.c.title, db.products.c.category)).all())
        unsold = catalog[catalog["id"].str.contains("fresh")]
        conn.execute(
            insert(db.products),
            [
                {"id": p.id, "title": p.title, "category": sold[p.title], "price": p.price}
                for p in unsold.itertuples()
            ],
        )
    engine.dispose()
    run_cli(home, "train", env=env)
    return home


def _env(home) -> dict:
    return {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}


def cold_shop(home, redis_url: str):
    """The shop on `home`'s SQLite and the given Redis (QA overrides on); closed on exit."""
    from storefront import create_app

    app = create_app(
        {
            "home": home,
            "database_url": _env(home)["STOREFRONT_DATABASE_URL"],
            "redis_url": redis_url,
            "testing": True,
            "qa_overrides": True,
        }
    )
    yield app
    app.extensions["db"].dispose()
    app.extensions["redis"].close()


@pytest.fixture
def client(home, embedded_redis_url):
    for app in cold_shop(home, embedded_redis_url):
        yield app.test_client()


def test_new_arrivals_show_the_unsold_products_that_suit_the_visitors_context(client):
    """Old code: a product nobody had bought never reached the new-arrivals rail."""
    seen = {}
    for country in ("GB", "DE"):
        html = client.get(f"/?qa_country={country}&qa_time=2011-12-30T10:00").get_data(True)
        seen[country] = [p for p in products_in(html, "new-arrivals") if "fresh" in p]
    # the three unsold products of the visitor's kind first (the rail has room for the rest)
    assert [p[0] for p in seen["GB"][:3]] == ["a"] * 3, seen
    assert [p[0] for p in seen["DE"][:3]] == ["b"] * 3, seen
