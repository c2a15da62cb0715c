"""Fixtures of the multi-node tests: a real Redis Cluster (cluster_support.py) and the two test
stores (the demo's subset, tests/conftest.py's shop_env, and the generated grocery store)."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.helpers import grocery_orders
from tests.multinode.cluster_support import start_cluster
from tests.stores.grocery import write_store

SESSION_PORTS = list(range(7400, 7406))  # 3 primaries, 3 replicas
CACHE_PORTS = list(range(7410, 7413))  # 3 primaries, no replicas (the evictable cache)


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), SESSION_PORTS)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def grocery_env(tmp_path_factory) -> dict:
    """The generated grocery store, imported (served by popularity: no model is needed to
    show the nodes share state)."""
    home = tmp_path_factory.mktemp("grocery-multinode")
    paths = write_store(home / "export", customers=150)
    orders, args, _ = grocery_orders(paths["orders"])
    db_url = f"sqlite:///{home / 'storefront.db'}"
    run_cli(home, "import", "orders", str(orders), *args, env={"STOREFRONT_DATABASE_URL": db_url})
    return {"home": home, "database_url": db_url, "backend": "grocery"}


@pytest.fixture(params=["demo", "grocery"])
def store(request, shop_env) -> dict:
    """Each test store in turn: {home, database_url}."""
    if request.param == "demo":
        return shop_env
    return request.getfixturevalue("grocery_env")
