"""Shared fixtures: real databases, real Redis servers, a trained shop home, a running server.

Backends: SQLite and an embedded Redis always; the machine's PostgreSQL and Redis too when they
answer on 127.0.0.1 (or at STOREFRONT_TEST_DATABASE_URL / STOREFRONT_TEST_REDIS_URL).
Training always runs in a subprocess: implicit's OpenMP pool must never live in a process that
later forks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

# The permanent holdout (5% by default) would put a random few test visitors in the
# non-personalized shop; tests that exercise the holdout set the share themselves.
os.environ.setdefault("STOREFRONT_HOLDOUT_SHARE", "0")


class ServerLikeClient(FlaskClient):
    """A WSGI server sends a response's body, then closes it, which runs what the shop puts
    behind the response (page_cache.behind: the page cache's writes). Flask's test client
    closes a response only when buffered, so every test client here is, unless a test asks
    for `buffered=False` to look between the response and its close
    (tests/integration/test_round_trips.py)."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ServerLikeClient

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "online_retail_2010-2011.parquet"
TEST_DATA = ROOT / "tests" / "data"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_url() -> str | None:
    url = os.environ.get("STOREFRONT_TEST_DATABASE_URL")
    if url is not None:
        return url or None
    if not _answers("127.0.0.1", 5432):
        return None
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_DEFAULT)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return PG_DEFAULT


def server_redis_url() -> str | None:
    url = os.environ.get("STOREFRONT_TEST_REDIS_URL")
    if url is not None:
        return url or None
    if not _answers("127.0.0.1", 6379):
        return None
    import redis

    try:
        redis.Redis.from_url(REDIS_DEFAULT, socket_timeout=1).ping()
    except redis.RedisError:
        return None
    return REDIS_DEFAULT


def run_cli(home: Path, *args: str, env: dict | None = None, timeout: int = 600) -> str:
    """Run the storefront command in a fresh process and return its output."""
    return cli_process(home, *args, env=env, timeout=timeout).stdout


def cli_process(
    home: Path, *args: str, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run the storefront command in a fresh process; fail unless it succeeds. stdout and
    stderr come back apart."""
    full_env = {**os.environ, "STOREFRONT_HOME": str(home), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "storefront.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"storefront {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def subset_csv(tmp_path_factory) -> Path:
    """The last three months of the real data as CSV: realistic, and quick to import and train."""
    df = pd.read_parquet(DATA)
    df = df[df["InvoiceDate"] >= "2011-09-01"]
    path = tmp_path_factory.mktemp("data") / "orders.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory) -> str:
    from storefront.redis_client import start_embedded

    return start_embedded(tmp_path_factory.mktemp("redis"))


def _backends() -> list:
    params = [pytest.param("sqlite-embedded", id="sqlite+embedded-redis")]
    params.append(
        pytest.param(
            "postgres-server",
            id="postgres+redis-server",
            marks=pytest.mark.skipif(
                postgres_url() is None or server_redis_url() is None,
                reason="no PostgreSQL/Redis answering on 127.0.0.1",
            ),
        )
    )
    return params


@pytest.fixture(scope="session", params=_backends())
def shop_env(request, tmp_path_factory, subset_csv, embedded_redis_url) -> dict:
    """A shop home with the subset imported and a model trained, on one backend pair."""
    home = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite-embedded":
        db_url = f"sqlite:///{home / 'storefront.db'}"
        redis_url = embedded_redis_url
    else:
        db_url = postgres_url()
        redis_url = server_redis_url()
        from sqlalchemy import create_engine

        from storefront import db

        engine = create_engine(db_url)
        db.drop_schema(engine)  # the import below migrates it from nothing
        engine.dispose()
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {"STOREFRONT_DATABASE_URL": db_url, "STOREFRONT_REDIS_URL": redis_url}
    run_cli(home, "import", "orders", str(subset_csv), env=env)
    run_cli(home, "train", env=env)
    return {"home": home, "database_url": db_url, "redis_url": redis_url, "backend": request.param}


@pytest.fixture
def app(shop_env):
    from tests.helpers import shop_app

    yield from shop_app(shop_env["home"], shop_env["database_url"], shop_env["redis_url"])


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def grocery_shop(tmp_path_factory) -> Path:
    """The second test store (tests/stores/grocery.py) as a trained shop home on SQLite."""
    from tests.helpers import grocery_home

    return grocery_home(tmp_path_factory.mktemp("grocery-shop"))


@pytest.fixture(params=["demo", "grocery"])
def either_store(request, app, embedded_redis_url):
    """The shop's app on the demo store (the session's shop), then on the grocery store."""
    if request.param == "demo":
        yield app
        return
    from tests.helpers import grocery_database_url, shop_app

    home = request.getfixturevalue("grocery_shop")
    yield from shop_app(home, grocery_database_url(home), embedded_redis_url)
