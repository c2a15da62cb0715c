"""Delete means delete for the model versions kept for a rollback (issue #18): a deleted customer
leaves no trace in any version, on the node's disk or in the database the other nodes pull from;
a rollback serves a version without them; everyone else is served exactly as before; a version
that cannot be cleaned is refused for a rollback, and the audit says where a trace is left.

The checks read the artifacts themselves (numpy on the files, the chunks straight from
`model_artifacts`), not through the code under test."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from recommender import registry
from recommender.serving import Model
from storefront import db
from storefront.cli import main
from storefront.model_holder import ModelHolder
from tests.conftest import _backends, run_cli
from tests.helpers import backend_env, grocery_orders, pg_schema, shop_app
from tests.stores.grocery import write_store

SCHEMA = "forget_in_models"  # PostgreSQL: a schema of its own


@pytest.fixture(scope="module", params=_backends())
def store(request, tmp_path_factory, embedded_redis_url) -> dict:
    """The grocery store imported and trained twice: two versions kept, both in the database."""
    out = tmp_path_factory.mktemp(f"forget-{request.param}")
    paths = write_store(out / "files", customers=150, days=90)
    orders_csv, map_args, _ = grocery_orders(paths["orders"])
    home = out / "home"
    home.mkdir()
    env = backend_env(request.param, home, SCHEMA, embedded_redis_url)
    run_cli(home, "import", "products", str(paths["products"]), env=env)
    run_cli(home, "import", "orders", str(orders_csv), *map_args, env=env)
    run_cli(home, "train", env=env)
    run_cli(home, "train", env=env)
    yield {"home": home, "env": env}
    if request.param == "postgres-server":
        pg_schema(SCHEMA, create=False)


def cli(store: dict, *args: str):
    result = CliRunner().invoke(
        main, list(args), env={"STOREFRONT_HOME": str(store["home"]), **store["env"]}
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


# ---- independent reads of the artifacts -------------------------------------------------------


def disk(store: dict, version: str) -> dict:
    folder = store["home"] / "models" / version
    load = lambda name: np.load(folder / f"{name}.npy", allow_pickle=False)  # noqa: E731
    segs = json.loads((folder / "segments.json").read_text())
    return {
        "users": load("user_ids").tolist(),
        "factors": load("user_factors"),
        "indptr": load("ui_indptr"),
        "indices": load("ui_indices"),
        "repeat": load("user_repeat"),
        "segment": load("user_segment"),
        "examples": {str(e) for s in segs for e in s["examples"]},
        "meta": json.loads((folder / "meta.json").read_text()),
    }


def stored(engine, version: str) -> dict[str, bytes]:
    """A version's files as the database holds them, with their manifest checked by hand."""
    with engine.connect() as conn:
        manifest = json.loads(
            conn.execute(
                select(db.model_versions.c.manifest).where(db.model_versions.c.version == version)
            ).scalar_one()
        )
        rows = conn.execute(
            select(db.model_artifacts.c.name, db.model_artifacts.c.data)
            .where(db.model_artifacts.c.version == version)
            .order_by(db.model_artifacts.c.name, db.model_artifacts.c.chunk_no)
        ).all()
    files: dict[str, bytes] = {}
    for name, data in rows:
        files[name] = files.get(name, b"") + bytes(data)
    assert set(files) == set(manifest)
    for name, data in files.items():
        assert hashlib.sha256(data).hexdigest() == manifest[name]["sha256"], name
        assert len(data) == manifest[name]["size"], name
    return files


def stored_users(engine, version: str) -> list[str]:
    return np.load(io.BytesIO(stored(engine, version)["user_ids.npy"])).tolist()


def by_user(state: dict) -> dict[str, tuple]:
    """Each user's factor row, products bought, repeat share and segment, by id."""
    out = {}
    for u, uid in enumerate(state["users"]):
        lo, hi = state["indptr"][u], state["indptr"][u + 1]
        out[uid] = (
            state["factors"][u].tobytes(),
            tuple(state["indices"][lo:hi].tolist()),
            float(state["repeat"][u]),
            int(state["segment"][u]),
        )
    return out


def holder_model(holder: ModelHolder):
    return holder.versioned.reload().model


# ---- the scenario -------------------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_a_deleted_customer_leaves_no_trace_in_any_kept_version_and_a_rollback_keeps_them_out(
    store, tmp_path: Path
):
    models = store["home"] / "models"
    older, newer = registry.versions(models)[-2:]
    assert registry.current(models) == newer
    before = {v: disk(store, v) for v in (older, newer)}
    # the customer: named in both versions, and a segment example (the examples name people)
    both = set(before[older]["users"]) & set(before[newer]["users"])
    examples = sorted(before[older]["examples"] & both, key=lambda c: (len(c), c))
    customer = examples[0]
    others = sorted(both - {customer})
    other = others[len(others) // 2]
    app_gen = shop_app(
        store["home"],
        store["env"]["STOREFRONT_DATABASE_URL"],
        store["env"]["STOREFRONT_REDIS_URL"],
        model_check_seconds=0.0,
    )
    app = next(app_gen)
    engine = app.extensions["db"]
    try:
        # a second node: its own models folder, following the database
        node_b = ModelHolder(engine, tmp_path / "node-b-models", 0.0)
        assert holder_model(node_b).version == newer and holder_model(node_b).knows_user(customer)
        served = app.extensions["models"]
        assert served.reload().model.knows_user(customer)
        for version in (older, newer):
            assert customer in stored_users(engine, version)
        audit = cli(store, "privacy", "audit", customer)
        assert audit.exit_code == 1  # the rows, and every version: the audit can find them
        for version in (older, newer):
            assert f"model {version} in the disk" in audit.output or version == newer
            assert f"model {version} in the database" in audit.output

        out = cli(store, "privacy", "delete", customer)
        assert out.exit_code == 0, out.output
        assert "Model versions rewritten without them:" in out.output and older in out.output

        # every version on disk: no trace, consistent, everyone else exactly as before
        for version in (older, newer):
            after = disk(store, version)
            assert customer not in after["users"] and customer not in after["examples"]
            n = len(after["users"])
            assert n == len(before[version]["users"]) - 1 == after["meta"]["counts"]["users"]
            assert len(after["factors"]) == len(after["repeat"]) == len(after["segment"]) == n
            assert len(after["indptr"]) == n + 1 == after["indptr"].size
            assert after["indptr"][-1] == len(after["indices"])
            assert after["meta"]["counts"]["interactions"] == len(after["indices"])
            kept = by_user(before[version])
            del kept[customer]
            assert by_user(after) == kept
            model = Model(models / version)
            assert not model.knows_user(customer) and model.segment_of(customer) is None
            assert model.history(other) and model.owned(other)
            # in the database: the same clean files, with their checksums
            files = stored(engine, version)
            assert customer not in np.load(io.BytesIO(files["user_ids.npy"])).tolist()
            assert customer not in files["segments.json"].decode()
            assert files["meta.json"] == (models / version / "meta.json").read_bytes()

        # the audit looks in every version, on disk and in the database, and finds nothing
        audit = cli(store, "privacy", "audit", customer)
        assert audit.exit_code == 0, audit.output
        assert "FOUND" not in audit.output and audit.output.rstrip().endswith("Nothing found.")

        # the served model dropped them at once and still serves everyone else
        model = served.get().model
        assert model.version == newer and not model.knows_user(customer)
        assert model.knows_user(other) and model.history(other)
        shopper = app.test_client()
        assert shopper.post("/account", data={"customer_id": other}).status_code == 303
        home = shopper.get("/?qa_country=GB")
        assert home.status_code == 200 and home.headers["X-Model-Version"] == newer
        # ... and so does the node that pulls from the database
        pulled = holder_model(node_b)
        assert pulled.version == newer and not pulled.knows_user(customer)
        assert pulled.knows_user(other)

        # a rollback serves the older version, without them, here and on the other node
        out = cli(store, "models", "rollback")
        assert out.exit_code == 0 and f"Rolled back to {older}" in out.output, out.output
        assert registry.current(models) == older
        model = served.get().model
        assert model.version == older and not model.knows_user(customer)
        assert model.knows_user(other) and model.history(other)
        pulled = holder_model(node_b)
        assert pulled.version == older and not pulled.knows_user(customer)
        home = shopper.get("/?qa_country=GB")
        assert home.status_code == 200 and home.headers["X-Model-Version"] == older
        assert cli(store, "privacy", "audit", customer).exit_code == 0

        # a version that cannot be cleaned (a per-user file nobody knows how to rewrite) keeps
        # the person it holds: the audit says where, and it is refused for a rollback
        assert cli(store, "models", "publish", newer).exit_code == 0
        third = others[0]
        np.save(models / older / "user_notes.npy", np.asarray([third]), allow_pickle=False)
        out = cli(store, "privacy", "delete", third)
        assert out.exit_code == 0 and f"Model {older} could not be cleaned" in out.output
        assert third not in disk(store, newer)["users"]
        audit = cli(store, "privacy", "audit", third)
        assert audit.exit_code == 2 and f"FOUND model {older} in the disk" in audit.output
        out = cli(store, "models", "rollback")
        assert out.exit_code != 0 and "cannot be served again" in out.output, out.output
        assert registry.current(models) == newer
    finally:
        next(app_gen, None)
