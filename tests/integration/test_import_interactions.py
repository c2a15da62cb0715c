"""`storefront import interactions`: another system's views, clicks, carts and ratings, each
with its weight, let a shop without order history train a model; a bad file changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storefront import db
from storefront.cli import main
from tests.conftest import run_cli

PRODUCTS = [f"SKU-{i:03d}" for i in range(1, 13)]


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A shop whose catalog is loaded (as a catalog import would) and which has no orders."""
    home = tmp_path / "shop"
    url = f"sqlite:///{home / 'storefront.db'}"
    monkeypatch.setenv("STOREFRONT_HOME", str(home))
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", url)
    home.mkdir()
    engine = db.make_engine(url)
    db.create_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            db.products.insert(),
            [
                {"id": p, "title": f"Product {p}", "category": "kitchen", "price": 2.0}
                for p in PRODUCTS
            ],
        )
    engine.dispose()
    return home


def _events(path, rows: list[tuple[str, str, str, int]]) -> None:
    """A RetailRocket-style export: visitorid, itemid, event, timestamp (unix milliseconds)."""
    lines = ["visitorid,itemid,event,timestamp"]
    lines += [f"{v},{i},{e},{t}" for v, i, e, t in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _shop_rows(n_users: int = 24) -> list[tuple[str, str, str, int]]:
    """Two tastes: even visitors use the first six products, odd ones the last six."""
    rng = np.random.default_rng(5)
    rows = []
    t = 1_704_100_000_000
    for u in range(n_users):
        pool = PRODUCTS[:6] if u % 2 == 0 else PRODUCTS[6:]
        for item in rng.choice(pool, size=4, replace=False):
            t += 60_000
            rows.append((f"v{u}", str(item), "view", t))
        rows.append((f"v{u}", pool[0], "addtocart", t + 1000))
        rows.append((f"v{u}", pool[0], "transaction", t + 2000))
    return rows


def _count(home) -> int:
    return len(_rows(home))


def _rows(home) -> list[tuple]:
    """Every stored interaction, in key order (the table is small here)."""
    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(db.interactions).order_by("id"))]
    engine.dispose()
    return rows


def _model(home) -> dict:
    (version,) = [p for p in (home / "models").iterdir() if p.is_dir() and p.name[0] != "."]
    load = {n: np.load(version / f"{n}.npy") for n in ("user_ids", "item_ids", "ui_indptr")}
    load["ui_indices"] = np.load(version / "ui_indices.npy")
    load["ui_data"] = np.load(version / "ui_data.npy")
    load["meta"] = json.loads((version / "meta.json").read_text())
    return load


def _confidence(model: dict, user: str, item: str) -> float:
    row = list(model["user_ids"]).index(user)
    col = list(model["item_ids"]).index(item)
    start, end = model["ui_indptr"][row], model["ui_indptr"][row + 1]
    hits = np.flatnonzero(model["ui_indices"][start:end] == col)
    return float(model["ui_data"][start + hits[0]]) if len(hits) else 0.0


def test_a_shop_without_orders_trains_on_imported_interactions(home, tmp_path):
    path = tmp_path / "events.csv"
    _events(path, _shop_rows())
    result = _cli("import", "interactions", str(path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "replaced the stored interactions with 144 interactions" in out
    assert "96  view (weight 0.1 of an order)" in out
    assert "24  add_to_cart (weight 0.5 of an order)" in out
    assert "24  purchase (weight 1 of an order)" in out
    run_cli(home, "train", env={"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"})
    model = _model(home)
    assert model["meta"]["source"] == "orders+interactions"
    assert set(model["user_ids"]) == {f"v{u}" for u in range(24)}
    # a view, a cart add and a purchase of one product outweigh a view alone
    viewed_only = next(
        p for p in PRODUCTS[:6] if p != "SKU-001" and _confidence(model, "v0", p) > 0
    )
    assert _confidence(model, "v0", "SKU-001") > _confidence(model, "v0", viewed_only) > 0
    # no orders yet: the bestseller list counts the shoppers who interacted with each product
    (version,) = [p for p in (home / "models").iterdir() if p.is_dir() and p.name[0] != "."]
    overall = json.loads((version / "popularity.json").read_text())["overall"]
    assert len(overall) == 12 and {p for p, _ in overall[:2]} == {"SKU-001", "SKU-007"}


def test_a_weight_of_zero_keeps_that_type_out_of_training(home, tmp_path):
    path = tmp_path / "events.csv"
    _events(path, _shop_rows())
    assert _cli("import", "interactions", str(path), "--weight", "view=0").exit_code == 0
    run_cli(home, "train", env={"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"})
    model = _model(home)
    assert model["ui_data"].size == 24  # one (visitor, product) pair each: the purchase
    assert _confidence(model, "v1", "SKU-007") > 0


def test_ratings_file_without_a_type_column(home, tmp_path):
    path = tmp_path / "ratings.jsonl"
    records = [
        {"user_id": "u1", "sku": "sku-001", "rating": 5, "date": "13/01/2024 10:00"},
        {"user_id": "u1", "sku": "sku-002", "rating": 4, "date": "14/01/2024 10:00"},
        {"user_id": "u2", "sku": "sku-003", "rating": 2, "date": "15/01/2024 10:00"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    result = _cli("import", "interactions", str(path), "--max-reject-share", "0.5")
    assert result.exit_code == 0, result.output
    assert "1  rating at or below the middle of its scale" in result.stdout
    assert "Ratings read on a scale of 0 to 5; those above 2.5 count." in result.stdout
    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                db.interactions.c.product_id, db.interactions.c.weight, db.interactions.c.ts
            ).order_by(db.interactions.c.product_id)
        ).all()
    assert [(p, w) for p, w, _ in rows] == [("SKU-001", 1.0), ("SKU-002", 0.8)]
    assert str(rows[0][2]) == "2024-01-13 10:00:00"  # day-first; UTC in winter London


def test_a_bad_interactions_file_changes_nothing(home, tmp_path):
    good = tmp_path / "events.csv"
    _events(good, _shop_rows(4))
    assert _cli("import", "interactions", str(good)).exit_code == 0
    before = _rows(home)
    assert len(before) == 24
    cases = {
        "empty.csv": (b"", "empty.csv: the file is empty (0 bytes)"),
        "header.csv": (b"visitorid,itemid,event\n", "but no rows"),
        "types.csv": (
            b"visitorid,itemid,event\nv1,SKU-001,hover\nv2,SKU-002,wink\n",
            "none of its 2 rows could be loaded",
        ),
        "who.csv": (b"colour,size\nred,L\n", "Cannot find a column for: customer_id"),
        "notype.csv": (b"user,sku\nu,SKU-001\n", "Cannot find a column for: type"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = _cli("import", "interactions", str(path))
        assert result.exit_code == 1, (name, result.output)
        assert expected in result.stderr and "Traceback" not in result.output, name
        assert _rows(home) == before, name
    typed = _cli("import", "interactions", str(tmp_path / "notype.csv"), "--type", "click")
    assert typed.exit_code == 0 and _count(home) == 1
    bad_weight = _cli("import", "interactions", str(good), "--weight", "hover=1")
    assert bad_weight.exit_code == 1 and "unknown interaction type 'hover'" in bad_weight.stderr
