"""Stateless nodes: the Flask secret key comes from STOREFRONT_SECRET_KEY or, unset, from the
database (generated once, by whichever node starts first), never from one node's disk: a
visitor cookie signed by one node is read by another with its own home."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from storefront import db
from storefront.config import load_settings
from storefront.shared_secret import shared, with_secret
from tests.helpers import migrate, shop_app


def test_nodes_with_their_own_homes_share_one_secret_from_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate(url)
    engine = db.make_engine(url)
    try:
        homes = [tmp_path / f"node{i}" for i in range(4)]
        found: list[str] = []

        def start(home) -> None:  # four nodes starting at once: one secret wins
            settings = load_settings({"STOREFRONT_HOME": str(home), "STOREFRONT_DATABASE_URL": url})
            found.append(with_secret(settings, engine).secret_key)

        threads = [threading.Thread(target=start, args=(h,)) for h in homes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(found) == 4 and len(set(found)) == 1 and len(found[0]) > 40
        assert not [h for h in homes if (h / "secret_key").exists()]  # nothing on a disk
        with engine.connect() as conn:
            assert conn.execute(select(db.shared_secrets.c.value)).scalars().all() == found[:1]
        # the environment's wins, and the database's stays as it was
        env = {"STOREFRONT_HOME": str(homes[0]), "STOREFRONT_SECRET_KEY": "from-the-environment"}
        assert with_secret(load_settings(env), engine).secret_key == "from-the-environment"
        assert shared(engine, load_settings({"STOREFRONT_HOME": str(homes[1])})) == found[0]
    finally:
        engine.dispose()


def test_an_older_shop_adopts_its_home_secret(tmp_path):
    """A shop that kept home/secret_key (before revision 0005) keeps its visitors' cookies."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url)
    (tmp_path / "secret_key").write_text("the-old-one\n")
    engine = db.make_engine(url)
    try:
        settings = load_settings({"STOREFRONT_HOME": str(tmp_path)})
        assert with_secret(settings, engine).secret_key == "the-old-one"
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", ["demo", "grocery"])
def test_a_cookie_from_one_node_is_good_on_another(store, shop_env, tmp_path, request):
    """Two apps (two nodes: each its own home) on one database and Redis: the visitor cookie
    the first sets is the same visitor on the second (their cart is there), on both stores."""
    if store == "demo":
        home, url = shop_env["home"], shop_env["database_url"]
    else:
        env = request.getfixturevalue("grocery_home")
        home, url = env["home"], env["database_url"]
    node_a = shop_app(home, url, shop_env["redis_url"])
    node_b = shop_app(tmp_path / "node-b", url, shop_env["redis_url"])
    a, b = next(node_a), next(node_b)
    try:
        assert a.secret_key == b.secret_key
        pid = next(iter(a.extensions["models"].get().catalog.products))
        client = a.test_client()
        assert client.post("/cart", data={"product_id": pid, "quantity": 3}).status_code == 303
        cookie = client.get_cookie("sid")
        other = b.test_client()
        other.set_cookie("sid", cookie.value)
        page = other.get("/cart").get_data(as_text=True)
        assert f'data-product-id="{pid}"' in page
        assert other.get_cookie("sid").value == cookie.value  # not replaced: it verified
    finally:
        next(node_a, None)
        next(node_b, None)


@pytest.fixture(scope="module")
def grocery_home(tmp_path_factory) -> dict:
    from tests.conftest import run_cli
    from tests.helpers import grocery_orders
    from tests.stores.grocery import write_store

    home = tmp_path_factory.mktemp("grocery-secret")
    paths = write_store(home / "export", customers=120)
    orders, args, _ = grocery_orders(paths["orders"])
    url = f"sqlite:///{home / 'storefront.db'}"
    run_cli(home, "import", "orders", str(orders), *args, env={"STOREFRONT_DATABASE_URL": url})
    return {"home": home, "database_url": url}
