"""Models reach every node (storefront/model_store.py): two shop nodes with their own homes share
one database; a publish on A is served by B within its check interval, a corrupted chunk is
refused (B keeps the version it has, and says so), an interrupted download leaves nothing
half-copied, and a version already on disk with matching checksums is not downloaded again.
Real SQLite, and PostgreSQL when STOREFRONT_TEST_DATABASE_URL names one."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, text, update

from recommender import registry
from storefront import db, model_store
from storefront.cli import main
from tests.conftest import postgres_url
from tests.helpers import shop_app

CHECK = 0.3  # the nodes' model check interval, seconds
SCHEMA = "model_distribution_test"
PRODUCTS = [f"SKU-{i:03d}" for i in range(1, 13)]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """An empty database both nodes share, with a tiny store in it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        if postgres_url() is None:
            pytest.skip("no PostgreSQL answering")
        with create_engine(postgres_url()).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        sep = "&" if "?" in postgres_url() else "?"
        url = f"{postgres_url()}{sep}options=-csearch_path%3D{SCHEMA}"
    engine = db.make_engine(url)
    db.create_schema(engine)
    _tiny_store(engine)
    engine.dispose()
    yield url
    if request.param == "postgres":
        with create_engine(postgres_url()).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


def _tiny_store(engine) -> None:
    """Twelve products, thirty customers of two tastes, a few orders each."""
    rng = np.random.default_rng(3)
    start = datetime(2026, 9, 1)
    lines = []
    for c in range(30):
        pool = PRODUCTS[:6] if c % 2 == 0 else PRODUCTS[6:]
        for o in range(3):
            for item in rng.choice(pool, size=3, replace=False):
                lines.append(
                    {"invoice": f"I{c}-{o}", "product_id": str(item), "customer_id": f"C{c}"}
                    | {"quantity": 1, "price": 2.0, "ts": start + timedelta(days=c + 7 * o)}
                    | {"country": "GB"}
                )
    with engine.begin() as conn:
        conn.execute(
            db.products.insert(),
            [
                {"id": p, "title": f"Product {p}", "category": "kitchen", "price": 2.0}
                | {"units_sold": 1}
                for p in PRODUCTS
            ],
        )
        conn.execute(db.order_lines.insert(), lines)


@pytest.fixture
def nodes(tmp_path, database_url, embedded_redis_url, monkeypatch):
    """Node A's and node B's homes (A trains), and B's app with a short check interval."""
    a, b = tmp_path / "node-a", tmp_path / "node-b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv("STOREFRONT_HOME", str(a))
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", database_url)
    gen = shop_app(b, database_url, embedded_redis_url, model_check_seconds=CHECK)
    app = next(gen)
    yield a, b, app
    gen.close()


def train_on_a() -> str:
    """`storefront train` on node A (its home and the shared database from the environment)."""
    result = CliRunner().invoke(main, ["train"])
    assert result.exit_code == 0, result.output
    return result.output.split("Model ", 1)[1].split(":", 1)[0]


def served(app) -> str | None:
    """The model version node B serves now (checking if its interval has passed)."""
    snap = app.extensions["models"].get()
    return snap.model.version if snap.model is not None else None


def test_a_publish_on_a_is_served_by_b_within_its_check_interval(nodes):
    a, b, app = nodes
    assert served(app) is None  # nothing published yet
    assert "no published model" in app.test_client().get("/healthz").get_json()["model_note"]
    first = train_on_a()
    time.sleep(CHECK)
    assert served(app) == first
    assert registry.current(b / "models") == first  # B's own disk, its own CURRENT
    assert (b / "models" / first / "item_factors.npy").is_file()
    assert app.test_client().get("/").status_code == 200

    second = train_on_a()
    time.sleep(CHECK)
    assert served(app) == second
    assert registry.versions(b / "models") == [first, second]

    # a rollback on A (through the CLI) is followed too, without downloading again
    inode = (b / "models" / first / "meta.json").stat().st_ino
    rolled = CliRunner().invoke(main, ["models", "rollback"])
    assert rolled.exit_code == 0, rolled.output
    time.sleep(CHECK)
    assert served(app) == first
    assert (b / "models" / first / "meta.json").stat().st_ino == inode


def test_a_version_already_on_disk_with_matching_checksums_is_not_downloaded(nodes):
    a, b, app = nodes
    version = train_on_a()
    engine = app.extensions["db"]
    target = model_store.fetch(engine, b / "models", version)
    stamp = {p.name: p.stat().st_ino for p in target.iterdir()}
    assert model_store.fetch(engine, b / "models", version) == target
    assert {p.name: p.stat().st_ino for p in target.iterdir()} == stamp  # same files
    # node A's own copy (where it was trained) matches the stored manifest
    assert model_store.matches(a / "models" / version, model_store.manifest(engine, version))


def test_a_corrupted_chunk_is_refused_and_b_keeps_serving_the_old_version(nodes, caplog):
    a, b, app = nodes
    first = train_on_a()
    time.sleep(CHECK)
    assert served(app) == first
    engine = app.extensions["db"]
    second = train_on_a()
    with engine.begin() as conn:
        conn.execute(
            update(db.model_artifacts)
            .where(db.model_artifacts.c.version == second)
            .where(db.model_artifacts.c.name == "item_factors.npy")
            .values(data=b"not the stored bytes")
        )
    caplog.set_level(logging.ERROR, logger="storefront.model_holder")
    time.sleep(CHECK)
    assert served(app) == first
    refusals = [
        r
        for r in caplog.records
        if f"model {second} from the database refused" in r.getMessage()
        and "item_factors.npy fails its sha256 check" in r.getMessage()
    ]
    assert len(refusals) == 1
    assert not (b / "models" / second).exists()
    assert registry.current(b / "models") == first
    assert not list((b / "models" / model_store.INCOMING).iterdir())
    time.sleep(CHECK)
    assert served(app) == first
    assert sum("refused" in r.getMessage() for r in caplog.records) == 1  # not every interval


def test_an_interrupted_download_leaves_nothing_half_copied(nodes, monkeypatch):
    a, b, app = nodes
    monkeypatch.setattr(model_store, "CHUNK_BYTES", 512)  # several chunks per file
    version = train_on_a()
    engine = app.extensions["db"]
    files = model_store.manifest(engine, version)
    big = max(files, key=lambda n: files[n]["chunks"])
    assert files[big]["chunks"] >= 3
    with engine.begin() as conn:  # the download breaks off in the middle of a file
        conn.execute(
            delete(db.model_artifacts).where(
                db.model_artifacts.c.version == version,
                db.model_artifacts.c.name == big,
                db.model_artifacts.c.chunk_no == files[big]["chunks"] // 2,
            )
        )
    with pytest.raises(model_store.ArtifactError, match="misses chunk"):
        model_store.fetch(engine, b / "models", version)
    assert not (b / "models" / version).exists()
    assert registry.versions(b / "models") == []
    assert not list((b / "models" / model_store.INCOMING).iterdir())
    assert served(app) is None  # B serves no half-copied model

    # a download whose process was killed half-way is cleared by the next one
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    left = b / "models" / model_store.INCOMING / f"{version}.{dead.stdout.strip()}.0"
    left.mkdir(parents=True)
    (left / "item_factors.npy").write_bytes(b"half")
    with pytest.raises(model_store.ArtifactError):
        model_store.fetch(engine, b / "models", version)
    assert not left.exists()
