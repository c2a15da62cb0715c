"""Delete means delete (issue #18): a shopper deleted on /me, a visitor and a customer deleted
with `storefront privacy delete`, leave no row that names them in any table, no Redis key, no
live event, nothing in the model versions kept (rewritten at once), and, from the next training,
nothing in a new model; `storefront privacy audit` says what is left at each step (1: data, 0:
nothing). On the demo store (both backends) and on the grocery store (tests/stores/grocery.py).

The checks here do not trust the code under test: every string column of every table is
searched for the visitor ids, every key of Redis for them, the model's user id map is read with
numpy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis as redis_lib
from click.testing import CliRunner
from sqlalchemy import String, Text, func, select

from recommender import registry
from storefront import db, deletions
from storefront.cli import main
from storefront.experiments import store as experiments
from storefront.redis_client import PENDING_EXPOSURES, key
from storefront.training_data import read_events, read_orders
from tests.conftest import ROOT, _backends, run_cli
from tests.helpers import backend_env, grocery_orders, pg_schema, shop_app
from tests.integration.after_purchase_support import api_key, buy
from tests.stores.grocery import write_store

SCHEMA = "delete_means_delete"  # PostgreSQL: a schema of its own, the shared tables left alone
_ids = count()


# ---- the stores ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=_backends())
def demo(request, tmp_path_factory, subset_csv, embedded_redis_url) -> dict:
    """The demo store's last weeks imported and trained, on one backend pair."""
    home = tmp_path_factory.mktemp(f"delete-{request.param}")
    orders = pd.read_csv(subset_csv, dtype=str)
    orders = orders[orders["InvoiceDate"] >= "2011-11-01"]
    path = home / "orders.csv"
    orders.to_csv(path, index=False)
    env = backend_env(request.param, home, SCHEMA, embedded_redis_url)
    run_cli(home, "import", "orders", str(path), env=env)
    run_cli(home, "train", env=env)
    yield {"home": home, "env": env, "ts": 1320192000000}  # 2011-11-02, inside the orders
    if request.param == "postgres-server":
        pg_schema(SCHEMA, create=False)


@pytest.fixture(scope="module")
def grocery(tmp_path_factory, embedded_redis_url) -> dict:
    """The grocery store: its catalog, then its orders, then a model."""
    out = tmp_path_factory.mktemp("delete-grocery")
    paths = write_store(out / "files", customers=200, days=120)
    orders_csv, map_args, _ = grocery_orders(paths["orders"])
    home = out / "home"
    home.mkdir()
    env = {
        "STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}",
        "STOREFRONT_REDIS_URL": embedded_redis_url,
    }
    run_cli(home, "import", "products", str(paths["products"]), env=env)
    run_cli(home, "import", "orders", str(orders_csv), *map_args, env=env)
    run_cli(home, "train", env=env)
    return {"home": home, "env": env, "ts": int(time.time() * 1000) - 3_600_000}


def _app(store: dict):
    env = store["env"]
    gen = shop_app(
        store["home"],
        env["STOREFRONT_DATABASE_URL"],
        env["STOREFRONT_REDIS_URL"],
        model_check_seconds=0.0,
    )
    app = next(gen)
    app.extensions["experiments"].holder.versioned.check_seconds = 0.0
    return app, gen


# ---- the shop's side: a person with everything a visit leaves ------------------------------


def visitor_of(client) -> str:
    from storefront.visitor import read_visitor_id

    with client.application.app_context():
        return read_visitor_id(client.get_cookie("sid").value)


def post(client, ts: int, *events: dict) -> None:
    batch = [{"id": f"dmd-{next(_ids):08d}", "ts": ts, **e} for e in events]
    r = client.post("/events", json={"events": batch})
    assert r.status_code == 202, r.get_json()


def targeted(engine, name: str) -> None:
    """A running experiment every GB visitor takes part in: its pages note them."""
    spec = experiments.ExperimentSpec(
        id=name,
        name=name,
        kind="strategy",
        page="home",
        slot="for-you",
        metric="ctr",
        conditions={"country": "GB"},
        arms=[
            {"name": "control", "share": 0.5, "value": "for_you"},
            {"name": "trending", "share": 0.5, "value": "trending_near_you"},
        ],
    )
    experiments.start(engine, experiments.create(engine, spec).id)


def busy_visit(app, store: dict, customer: str | None) -> tuple:
    """A visitor with views, impressions, a placed order, a cart, a mute, a targeted
    experiment (in SQL, and a second one still pending in Redis), cached fragments and pages;
    signed in as `customer` half-way when given. Returns (client, every visitor id it had,
    the order's id)."""
    client = app.test_client()
    ts = store["ts"]
    client.get("/?qa_country=GB")
    catalog = app.extensions["models"].get().catalog
    pids = list(catalog.products)[:4]
    seen = [visitor_of(client)]
    post(client, ts, *({"type": "view", "product_id": p} for p in pids[:2]))
    post(client, ts, {"type": "impression", "product_id": pids[0], "slot": "for-you"})
    if customer:
        assert client.post("/account", data={"customer_id": customer}).status_code == 303
        seen.append(visitor_of(client))
    client.get("/?qa_country=GB")
    post(client, ts, *({"type": "view", "product_id": p} for p in pids[2:]))
    order_id, _ = buy(client, {pids[2]: 2})
    client.post("/cart", data={"product_id": pids[0], "quantity": "1"})
    top = catalog.top_categories[0]
    client.post("/me", data={"action": "mute", "value": getattr(top, "slug", top)})
    client.get("/?qa_country=GB")  # fragments and a cached page
    client.get(f"/p/{pids[1]}?qa_country=GB")
    return client, seen, order_id


def note_experiments(app, client, store: dict, tag: str) -> None:
    engine = app.extensions["db"]
    targeted(engine, f"dmd-a-{tag}")
    client.get("/?qa_country=GB")  # noted in Redis ...
    pid = next(iter(app.extensions["models"].get().catalog.products))
    post(client, store["ts"], {"type": "impression", "product_id": pid, "slot": "for-you"})
    targeted(engine, f"dmd-b-{tag}")  # ... moved to SQL by the events; this one waits
    client.get("/?qa_country=GB")


# ---- independent checks --------------------------------------------------------------------


def rows_naming(engine, visitors: list[str], customers: list[str]) -> dict[str, int]:
    """Rows of any table that name these ids: visitor ids in ANY text column, customer ids in
    the columns that hold people (customer numbers may look like product ids)."""
    found = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text):
                    continue
                ids = list(visitors)
                if column.name in ("customer_id", "customer", "visitor") or (
                    table.name == "customers" and column.name == "id"
                ):
                    ids += customers
                if not ids:
                    continue
                n = conn.execute(
                    select(func.count()).select_from(table).where(column.in_(ids))
                ).scalar_one()
                if n:
                    found[f"{table.name}.{column.name}"] = n
    return found


def keys_naming(r: redis_lib.Redis, visitors: list[str], customers: list[str]) -> list[str]:
    """Every key whose name holds a visitor id, or a customer id as a whole part."""
    found = []
    for k in r.scan_iter("*", count=1000):
        parts = set(k.replace("{", ":").replace("}", ":").replace("/", ":").split(":"))
        if any(v in k for v in visitors) or parts & set(customers):
            found.append(k)
    stream = [f for _, f in r.xrange("sf:stream:events") if f.get("visitor") in visitors]
    # an order's key does not name its visitor: its recap does
    placed = [
        k
        for k in r.scan_iter("sf:order:*", count=1000)
        if json.loads(r.get(k) or "{}").get("visitor") in visitors
    ]
    return found + [f"stream entry {f}" for f in stream] + placed


def order_fragment(app, order_id: str) -> int:
    """The status of the order's email fragment for an API caller."""
    return (
        app.test_client()
        .get(
            "/api/v1/fragments/order-followup",
            query_string={"order": order_id},
            headers={"Authorization": f"Bearer {api_key(app)}"},
        )
        .status_code
    )


def model_users(store: dict) -> set[str]:
    models = store["home"] / "models"
    version = registry.current(models)
    return set(np.load(models / version / "user_ids.npy", allow_pickle=False).tolist())


class Ran:
    """What a `storefront privacy ...` run printed, and its exit status."""

    def __init__(self, returncode: int, stdout: str, stderr: str = ""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def privacy(store: dict, *args: str, own_process: bool = False) -> Ran:
    """`storefront privacy ...` on this store, any exit status: in this process through
    click's runner (the machine is slow to start Python), or in a process of its own."""
    env = {"STOREFRONT_HOME": str(store["home"]), **store["env"]}
    if own_process:
        done = subprocess.run(
            [sys.executable, "-m", "storefront.cli", "privacy", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Ran(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(main, ["privacy", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.output)


def some_customer(engine, skip: set[str]) -> str:
    with engine.connect() as conn:
        ids = conn.execute(
            select(db.customers.c.id).order_by(func.length(db.customers.c.id), db.customers.c.id)
        ).scalars()
        return next(c for c in ids if c not in skip)


# ---- the scenario, on any store ------------------------------------------------------------


def forget_and_check(store: dict, tag: str) -> None:
    app, gen = _app(store)
    try:
        engine = app.extensions["db"]
        r = app.extensions["redis"]
        me_customer = some_customer(engine, set())
        cli_customer = some_customer(engine, {me_customer})
        # 1. three people: a signed-in shopper (deleted on /me), an anonymous visitor and a
        # customer (deleted with the command, by visitor id and by customer id)
        shopper, shopper_ids, shopper_order = busy_visit(app, store, me_customer)
        note_experiments(app, shopper, store, tag + "1")
        anon, anon_ids, anon_order = busy_visit(app, store, None)
        note_experiments(app, anon, store, tag + "2")
        cli, cli_customer_ids, cli_order = busy_visit(app, store, cli_customer)
        placed = {shopper_order: shopper, anon_order: anon, cli_order: cli}
        for order_id, client in placed.items():
            assert client.get(f"/order/{order_id}").status_code == 200
            assert order_fragment(app, order_id) == 200
        (anon_id,) = anon_ids
        everyone = {
            "me": (shopper_ids, [me_customer]),
            "anon": (anon_ids, []),
            "cli": (cli_customer_ids, [cli_customer]),
        }
        for visitors, customers in everyone.values():
            assert rows_naming(engine, visitors, customers)  # the checks can find them
            assert keys_naming(r, visitors, customers)
        with engine.connect() as conn:
            noted = conn.execute(
                select(func.count())
                .select_from(db.experiment_exposures)
                .where(db.experiment_exposures.c.visitor.in_(shopper_ids + anon_ids))
            ).scalar_one()
        assert noted >= 2
        assert r.exists(key(PENDING_EXPOSURES, anon_id))  # the second experiment, still pending
        run_cli(store["home"], "train", "--with-events", env=store["env"])
        users = model_users(store)
        assert {me_customer, cli_customer, f"visitor:{anon_id}"} <= users
        found = privacy(store, "audit", anon_id)
        assert found.returncode == 1 and "FOUND database events.visitor" in found.stdout
        assert "FOUND redis" in found.stdout, found.stdout
        assert f"sf:order:{anon_order}" in found.stdout  # the order, found by its visitor

        # 2. delete: on /me, and with the command by visitor id and by customer id
        assert shopper.post("/me", data={"action": "delete", "value": ""}).status_code == 303
        page = shopper.get("/me").get_data(as_text=True)
        assert 'data-testid="deleted"' not in page  # a fresh visit of /me: nothing of theirs
        assert "No products viewed recently" in page and 'data-testid="no-traits"' in page
        out = privacy(store, "delete", anon_id, own_process=True)
        assert out.returncode == 0 and "Deleted" in out.stdout, out.stderr
        out = privacy(store, "delete", cli_customer)
        assert out.returncode == 0 and f"customer {cli_customer}" in out.stdout, out.stderr
        for who, (visitors, customers) in everyone.items():
            assert rows_naming(engine, visitors, customers) == {}, who
            assert keys_naming(r, visitors, customers) == [], who
        for order_id in placed:
            assert order_fragment(app, order_id) == 404

        # 3. the audit: nothing in the database, Redis or any kept model version (the deletion
        # rewrote the served one without them; test_forget_in_model_versions.py: the others)
        assert not {me_customer, cli_customer, f"visitor:{anon_id}"} & model_users(store)
        for ident in (me_customer, shopper_ids[0], anon_id, cli_customer):
            out = privacy(store, "audit", ident)
            assert out.returncode == 0, out.stdout + out.stderr
            assert "database and Redis: nothing found" in out.stdout
            assert "deletion ledger: deleted as a" in out.stdout
        assert deletions.deleted_at(engine, me_customer)[0] == "customer"
        assert deletions.deleted_at(engine, anon_id)[0] == "visitor"

        # 4. what comes back later is left out of training: an order line with a deleted
        # customer id (another loader), an API caller's event for a deleted visitor id
        t = pd.Timestamp(store["ts"], unit="ms").to_pydatetime()
        with engine.begin() as conn:
            conn.execute(
                db.order_lines.insert(),
                [
                    {
                        "invoice": "dmd-late",
                        "product_id": p,
                        "customer_id": c,
                        "quantity": 1,
                        "price": 1.0,
                        "ts": t,
                        "country": "GB",
                    }
                    for c in (me_customer, cli_customer)
                    for p in list(app.extensions["models"].get().catalog.products)[:3]
                ],
            )
            conn.execute(
                db.events.insert(),
                [
                    {
                        "id": "dmd-late",
                        "visitor": anon_id,
                        "source": "key:x",
                        "type": "view",
                        "product_id": next(iter(app.extensions["models"].get().catalog.products)),
                        "ts": t,
                        "received": t,
                    }
                ],
            )
        lines, _ = read_orders(engine)
        assert not set(lines["customer_id"].dropna()) & {me_customer, cli_customer}
        assert "dmd-late" not in set(lines["invoice"])
        events, identities = read_events(engine)
        assert anon_id not in set(events["visitor"])
        assert not set(identities["customer_id"]) & {me_customer, cli_customer}
        run_cli(store["home"], "train", "--with-events", env=store["env"])
        users = model_users(store)
        gone = {me_customer, cli_customer}
        gone |= {f"visitor:{v}" for visitors, _ in everyone.values() for v in visitors}
        assert not gone & users
        assert len(users) > 10  # a model of everyone else
        found = privacy(store, "audit", anon_id)  # the late rows themselves are found
        assert found.returncode == 1 and "events.visitor: 1 row" in found.stdout
        with engine.begin() as conn:
            conn.execute(db.order_lines.delete().where(db.order_lines.c.invoice == "dmd-late"))
            conn.execute(db.events.delete().where(db.events.c.id == "dmd-late"))

        # 5. after the training, the audit finds nothing anywhere
        for ident in (me_customer, shopper_ids[-1], anon_id, cli_customer):
            out = privacy(store, "audit", ident)
            assert out.returncode == 0, out.stdout + out.stderr
            assert out.stdout.rstrip().endswith("Nothing found.")

        # 6. the anonymous visitor comes back with the cookie they had (their visit is recorded
        # anew, so this comes last): the order they placed is gone, not only hidden from
        # someone else (the page answers only the visitor who placed it)
        assert anon.get(f"/order/{anon_order}").status_code == 404
    finally:
        next(gen, None)


@pytest.mark.timeout(900)  # two trainings on a slow shared machine
def test_delete_on_me_and_with_the_command_leaves_nothing_and_no_trace_after_training(demo):
    forget_and_check(demo, "demo")


@pytest.mark.timeout(900)
def test_delete_means_delete_on_the_grocery_store(grocery):
    forget_and_check(grocery, "grocery")


def test_a_reimport_leaves_deleted_customers_out(grocery, tmp_path: Path):
    """An orders import (the shop's next export) that still carries a deleted customer's lines
    leaves them out and says so."""
    env = grocery["env"]
    engine = db.make_engine(env["STOREFRONT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            customer = conn.execute(
                select(db.order_lines.c.customer_id)
                .where(db.order_lines.c.customer_id.is_not(None))
                .order_by(db.order_lines.c.customer_id.desc())
                .limit(1)
            ).scalar_one()
            line = (
                conn.execute(
                    select(db.order_lines).where(db.order_lines.c.customer_id == customer).limit(1)
                )
                .mappings()
                .one()
            )
        out = privacy(grocery, "delete", customer)
        assert out.returncode == 0, out.stderr
        late = tmp_path / "late.csv"
        pd.DataFrame(
            [
                {
                    "invoice": "late-1",
                    "title": "Late line",
                    "product_id": line["product_id"],
                    "customer_id": customer,
                    "quantity": 2,
                    "price": 3.5,
                    "ts": "2026-01-02 10:00:00",
                    "country": "DE",
                },
                {
                    "invoice": "late-2",
                    "title": "Late line",
                    "product_id": line["product_id"],
                    "customer_id": "fresh-1",
                    "quantity": 1,
                    "price": 3.5,
                    "ts": "2026-01-02 10:00:00",
                    "country": "DE",
                },
            ]
        ).to_csv(late, index=False)
        said = run_cli(grocery["home"], "import", "orders", str(late), "--append", env=env)
        assert "Left out 1 lines of deleted customers" in said
        with engine.connect() as conn:
            left = (
                conn.execute(
                    select(db.order_lines.c.customer_id).where(
                        db.order_lines.c.invoice.like("late-%")
                    )
                )
                .scalars()
                .all()
            )
        assert left == ["fresh-1"]
        out = privacy(grocery, "audit", customer)
        assert out.returncode in (0, 2) and "database and Redis: nothing found" in out.stdout
    finally:
        engine.dispose()


def test_a_visitors_orders_are_listed_bounded_and_found_even_without_their_list(
    embedded_redis_url,
):
    """The per-visitor list of orders has a TTL and a bound (an order pushed out of it is
    deleted, never left out of reach), and `placed_by` also finds an order no list names (one
    saved before the lists existed) by its recap; another visitor's orders are not theirs."""
    from datetime import UTC, datetime

    from storefront import orders

    r = redis_lib.Redis.from_url(embedded_redis_url, decode_responses=True)
    me, other = f"dmd-orders-{next(_ids)}", f"dmd-orders-{next(_ids)}"
    line = (orders.OrderLine("p1", "A thing", 1, 2.5),)

    def place(visitor: str) -> str:
        order = orders.Order(orders.new_id(), visitor, datetime.now(UTC), "GBP", line)
        orders.save(r, order, ttl=600)
        return order.id

    mine = [place(me) for _ in range(orders.MAX_PER_VISITOR + 3)]
    theirs = place(other)
    index = f"sf:orders:{{v:{me}}}"
    assert 0 < r.ttl(index) <= 600
    assert r.llen(index) == orders.MAX_PER_VISITOR
    assert r.lrange(index, 0, 0) == [mine[-1]]  # newest first
    assert all(r.exists(f"sf:order:{o}") == 0 for o in mine[:3])  # pushed out: deleted
    kept = {f"sf:order:{o}" for o in mine[3:]}
    assert set(orders.placed_by(r, [me])) == kept
    r.delete(index)  # as if saved before the lists existed
    assert set(orders.placed_by(r, [me])) == kept
    assert orders.placed_by(r, [other]) == [f"sf:order:{theirs}"]
    for k in kept | {f"sf:order:{theirs}", f"sf:orders:{{v:{other}}}"}:
        r.delete(k)


def test_a_visitor_id_that_begins_with_a_dash_is_an_identifier(tmp_path: Path):
    """Visitor ids are URL-safe tokens; one in 64 begins with "-" (a test run met one)."""
    home = tmp_path / "home"
    env = {"STOREFRONT_HOME": str(home), "STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'x.db'}"}
    for command in ("audit", "delete"):
        result = CliRunner().invoke(main, ["privacy", command, "-Rx8aQ2"], env=env)
        assert result.exit_code == 0, result.output
        assert "No such option" not in result.output
    audit = CliRunner().invoke(main, ["privacy", "audit", "-Rx8aQ2"], env=env)
    assert audit.output.rstrip().endswith("Nothing found.")
