"""Small readers of the shop's HTML for integration tests (the QA hooks: data-slot, data-product-id,
data-signal)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path


def slots(html: str) -> list[str]:
    return re.findall(r'data-slot="([^"]+)"', html)


def products_in(html: str, slot_id: str) -> list[str]:
    m = re.search(rf'<section[^>]*data-slot="{slot_id}".*?</section>', html, re.S)
    return re.findall(r'<li class="tile"[^>]*? data-product-id="([^"]+)"', m.group(0)) if m else []


def heading(html: str, slot_id: str) -> str:
    m = re.search(rf'<h2 id="h-{slot_id}"[^>]*>([^<]*)<', html)
    return m.group(1) if m else ""


def signal(html: str, name: str) -> str:
    m = re.search(rf'data-signal="{name}">(.*?)</dd>', html, re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)) if m else ""


# the grocery test store's order columns, for `storefront import orders --map`
GROCERY_ORDER_MAP = (
    "invoice=order_id product_id=sku title=product_name quantity=qty price=unit_price "
    "ts=created customer_id=customer country=country_code"
).split()


def grocery_orders(orders_csv):
    """The grocery store's orders file as generated (unix-second times: the importer reads
    them), the --map arguments to import it, and its lines as a DataFrame:
    (path, args, the order lines)."""
    import pandas as pd

    orders = pd.read_csv(orders_csv, dtype=str)
    args = [a for pair in GROCERY_ORDER_MAP for a in ("--map", pair)]
    return orders_csv, args, orders


def migrate(database_url: str) -> None:
    """Bring a test's database to the schema's head revision (Alembic, storefront/migrations)."""
    from storefront import db

    engine = db.make_engine(database_url)
    db.create_schema(engine)
    engine.dispose()


def shop_app(home: Path, database_url: str, redis_url: str, **settings) -> Iterator:
    """The shop's Flask app on a home, its database and Redis, as the tests drive it (QA
    overrides, demo sign-in, no CSRF); closed after. `settings` adds to or overrides these.
    The one factory behind the `app` fixtures (tests/conftest.py, the catalog shop's). The
    database is migrated first, as `storefront db upgrade` would (the app refuses it otherwise)."""
    from storefront import create_app

    migrate(database_url)

    application = create_app(
        {
            "home": home,
            "database_url": database_url,
            "redis_url": redis_url,
            "testing": True,
            "qa_overrides": True,
            "demo_signin": True,  # the shop tests sign in as the store's customers by number
            **settings,
        }
    )
    application.config["WTF_CSRF_ENABLED"] = False
    yield application
    application.extensions["db"].dispose()
    application.extensions["redis"].close()


def _grocery_store(home: Path, files: Path, env: dict, customers: int, days: int):
    """The grocery store's files written, its catalog and orders imported and a model trained,
    through the command (~15 s). Returns the files' paths and the order lines."""
    from tests.conftest import run_cli
    from tests.stores.grocery import write_store

    paths = write_store(files, customers=customers, days=days)
    orders_csv, map_args, orders = grocery_orders(paths["orders"])
    run_cli(home, "import", "products", str(paths["products"]), env=env)
    run_cli(home, "import", "orders", str(orders_csv), *map_args, env=env)
    run_cli(home, "train", env=env)
    return paths, orders


def grocery_shop(out: Path, redis_url: str, customers: int = 300, days: int = 150) -> dict:
    """The grocery store (tests/stores/grocery.py) as a shop home: its catalog imported, then
    its orders, then a model trained. Returns home, env (database and Redis), the catalog's
    rows, the generated files' paths and the order lines."""
    import csv

    home = out / "home"
    env = {"STOREFRONT_DATABASE_URL": grocery_database_url(home), "STOREFRONT_REDIS_URL": redis_url}
    paths, orders = _grocery_store(home, out / "files", env, customers, days)
    with paths["products"].open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {"home": home, "env": env, "rows": rows, "paths": paths, "orders": orders}


def grocery_home(home: Path, customers: int = 300, days: int = 150) -> Path:
    """The second test store as a shop home on SQLite (the default Redis)."""
    env = {"STOREFRONT_DATABASE_URL": grocery_database_url(home)}
    _grocery_store(home, home / "export", env, customers, days)
    return home


def grocery_database_url(home: Path) -> str:
    return f"sqlite:///{home / 'storefront.db'}"


def record_event(engine, event_id: str, visitor: str, when, **fields) -> None:
    """One event in the shop's event log as `POST /events` leaves it (received at `when`, a
    naive UTC time): for tests of what reads the log back at a time of their choosing."""
    from sqlalchemy import insert

    from storefront import db

    row = {"type": "view", "source": "", "channel": "web", "ts": when, "received": when}
    with engine.begin() as conn:
        conn.execute(insert(db.events).values(id=event_id, visitor=visitor, **{**row, **fields}))


def record_visits(engine, prefix: str, count: int, first, step, **fields) -> None:
    """`count` visitors with one event each, `step` apart from `first`; a field given as a
    function is called with the visitor's number (e.g. a device for one visitor in two)."""
    for i in range(count):
        values = {k: v(i) if callable(v) else v for k, v in fields.items()}
        record_event(
            engine, f"{prefix}-event-{i:03d}", f"{prefix}-{i:03d}", first + step * i, **values
        )


def trained_grocery(out: Path, redis_url: str, customers: int = 300, days: int = 150) -> dict:
    """grocery_shop as home, database_url and redis_url."""
    shop = grocery_shop(out, redis_url, customers, days)
    return {
        "home": shop["home"],
        "database_url": shop["env"]["STOREFRONT_DATABASE_URL"],
        "redis_url": redis_url,
    }


def backend_env(backend: str, home: Path, schema: str, embedded_redis_url: str) -> dict:
    """The database and Redis URLs of one of tests/conftest.py's backends for a store at
    `home`: SQLite in the home and the embedded Redis, or PostgreSQL in a schema of its own
    (made afresh; `drop_schema` after) and the Redis server."""
    from tests.conftest import server_redis_url

    if backend == "sqlite-embedded":
        return {
            "STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}",
            "STOREFRONT_REDIS_URL": embedded_redis_url,
        }
    return {
        "STOREFRONT_DATABASE_URL": pg_schema(schema, create=True),
        "STOREFRONT_REDIS_URL": server_redis_url(),
    }


def pg_schema(schema: str, create: bool) -> str:
    """A PostgreSQL schema dropped (and made again when `create`) in the test database; the
    URL that works in it."""
    from sqlalchemy import create_engine, text

    from tests.conftest import postgres_url

    engine = create_engine(postgres_url())
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if create:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{postgres_url()}?options=-csearch_path%3D{schema}"
