"""`storefront train --engine spark`: ALS on Spark MLlib, in local mode on the bundled data and
on a standalone cluster (one master, two workers, started here on 127.0.0.1) on the grocery
store; each publishes the implicit path's artifact, which the shop serves unchanged (a signed-in
customer's page has a personal "for you" rail). Skipped only where Spark cannot run (no
pyspark, no Java): scripts/setup.sh --test installs the spark extra."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import DATA, ROOT, run_cli
from tests.helpers import grocery_orders, products_in, shop_app
from tests.spark_cluster import standalone, why_not
from tests.stores.grocery import write_store

SPARK_TIMEOUT = 1800  # a run: Spark's start, four validation fits and the final one
pytestmark = [
    pytest.mark.skipif(why_not() is not None, reason=why_not() or ""),
    # about a minute a run on a quiet two-core machine; much more while it is shared
    pytest.mark.timeout(SPARK_TIMEOUT + 300),
]


def _few_iterations(home) -> None:
    """The store's training parameters as `storefront tune --publish` keeps them, with five ALS
    iterations: Spark's fits (four candidates and the final one) stay short in a test."""
    from recommender import registry
    from recommender.lineup import ShopParams
    from recommender.models import ALSParams

    registry.write_params(home / "models", ShopParams(als=ALSParams(iterations=5)).as_dict())


def _train_spark(home, master: str) -> str:
    _few_iterations(home)
    env = {**_env(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    args = ("train", "--engine", "spark", "--spark-master", master)
    return run_cli(home, *args, env=env, timeout=SPARK_TIMEOUT)


def _env(home) -> dict:
    return {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}


def _meta(home) -> dict:
    models = home / "models"
    version = (models / "CURRENT").read_text().strip()
    return json.loads((models / version / "meta.json").read_text())


def _served_personally(home, redis_url: str, meta: dict) -> None:
    """The shop loads the published Spark model as it is, and two customers with different
    histories get their own, different "for you" rails from it."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    app = next(iter(gen := shop_app(home, _env(home)["STOREFRONT_DATABASE_URL"], redis_url)))
    try:
        model = app.extensions["models"].get().model
        assert model.version == meta["version"] and model.meta["engine"]["name"] == "spark"
        owned = {u: {o.product_id for o in model.owned(u)} for u in model.user_ids[:200].tolist()}
        a, b = _two(owned)
        rails = []
        for customer in (a, b):
            client = app.test_client()
            assert client.post("/account", data={"customer_id": customer}).status_code == 303
            html = client.get("/").get_data(as_text=True)
            assert 'data-strategy="for_you"' in html
            rails.append(products_in(html, "for-you"))
        assert rails[0] and rails[1] and rails[0] != rails[1], rails
    finally:
        gen.close()


def _two(owned: dict) -> tuple[str, str]:
    """Two customers with at least three products each and little in common."""
    rich = [u for u, items in owned.items() if len(items) >= 3]
    a = rich[0]
    b = min(rich[1:], key=lambda u: len(owned[u] & owned[a]) / len(owned[u] | owned[a]))
    return a, b


def _check_meta(meta: dict, master: str) -> None:
    engine = meta["engine"]
    assert engine["name"] == "spark" and engine["master"] == master
    chosen = engine["spark"]
    # chosen on this store's validation split, among the tried candidates
    assert engine["choice"]["tried"], engine
    assert chosen in [
        {k: v for k, v in t.items() if k != "ndcg@10"} for t in engine["choice"]["tried"]
    ]
    best = max(t["ndcg@10"] for t in engine["choice"]["tried"])
    assert any(
        t["ndcg@10"] == best and t["rank"] == chosen["rank"] for t in engine["choice"]["tried"]
    )
    # serving's fold-in parameters are the Spark solve's equivalents, not implicit's defaults
    assert meta["params"]["factors"] == chosen["rank"]
    assert meta["params"]["regularization"] >= chosen["reg_param"]
    assert meta["counts"]["users"] > 0 and chosen["max_iter"] == 5


def test_spark_master_needs_the_spark_engine(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "storefront.cli", "train", "--spark-master", "local[2]"],
        cwd=ROOT,
        env={**_env(tmp_path), "STOREFRONT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "--spark-master" in result.stderr
    assert "only with --engine spark" in result.stderr


def test_local_mode_on_the_bundled_data(tmp_path, embedded_redis_url):
    # the bundled data's last three weeks: small enough for Spark's fits to stay quick
    df = pd.read_parquet(DATA)
    orders = tmp_path / "orders.csv"
    df[df["InvoiceDate"] >= "2011-11-18"].to_csv(orders, index=False)
    home = tmp_path / "shop"
    home.mkdir()
    run_cli(home, "import", "orders", str(orders), env=_env(home))
    out = _train_spark(home, "local[2]")
    assert "published" in out
    meta = _meta(home)
    _check_meta(meta, "local[2]")
    _served_personally(home, embedded_redis_url, meta)


def test_standalone_cluster_on_the_grocery_store(tmp_path, embedded_redis_url):
    home = tmp_path / "grocery"
    paths = write_store(home / "export", customers=300)
    orders, args, _ = grocery_orders(paths["orders"])
    run_cli(home, "import", "orders", str(orders), *args, env=_env(home))
    with standalone(tmp_path / "spark", workers=2) as cluster:
        out = _train_spark(home, cluster["url"])
        status = cluster["status"]()
    assert "published" in out
    # the run was an application of this cluster, and both workers served it
    apps = [a for a in status["completedapps"] if a["name"] == "storefront-train"]
    assert len(apps) == 1, status
    assert len(status["workers"]) == 2 and all(w["state"] == "ALIVE" for w in status["workers"])
    meta = _meta(home)
    _check_meta(meta, cluster["url"])
    _served_personally(home, embedded_redis_url, meta)
