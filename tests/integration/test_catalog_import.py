"""`storefront import products`: a store's own catalog, on a real SQLite store. Full imports
retire what they no longer list, --append upserts, JSON Lines and Parquet read like CSV, a
refused import changes nothing and says why (non-zero exit, no traceback), and an orders import
never overwrites the catalog's titles or categories."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from storefront import db
from storefront.catalog_import import CatalogImportError, import_catalog
from storefront.catalog_store import load_catalog
from storefront.categories import KEYWORD_TABLE, _load_table, categorize
from storefront.importer import import_orders

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["id", "title", "description", "category", "brand", "price", "currency"]
COLUMNS += ["image_url", "available", "launch_date", "hidden", "pack_size", "organic"]


def row(pid: str, title: str, category: str, **kw) -> dict:
    base = {
        "id": pid,
        "title": title,
        "description": f"About {title}.",
        "category": category,
        "brand": "Hofgut",
        "price": "2.50",
        "currency": "EUR",
        "image_url": f"https://img.example.test/{pid}.jpg",
        "available": "yes",
        "launch_date": "2024-03-01",
        "hidden": "false",
        "pack_size": "small",
        "organic": "no",
    }
    return base | kw


ROWS = [
    row("A1", "Oat Drink", "Fresh Food > Dairy > Milk"),
    row("A2", "Cheddar", "Fresh Food > Dairy > Cheese", organic="yes"),
    row("A3", "Apples", "Fresh Food > Fruit & Veg > Fruit"),
    row("A4", "Bleach", "Household > Cleaning > Surfaces", available="no"),
    row("A5", "Tofu", "Pantry > Vegetarian > Meat-free", hidden="true"),
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    db.create_schema(engine)
    yield engine
    engine.dispose()


def snapshot_tables(engine) -> dict:
    with engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t)).all()))
            for t in (db.catalog_items, db.catalog_categories, db.products, db.import_runs)
        }


def test_full_import_builds_the_taxonomy_and_hides_what_cannot_be_shown(engine, tmp_path):
    plan = import_catalog(engine, write_csv(tmp_path / "p.csv", ROWS))
    assert (plan.added, plan.updated, plan.retired, plan.rejected) == (5, 0, 0, {})
    catalog = load_catalog(engine)
    assert sorted(catalog.products) == ["A1", "A2", "A3"]  # A4 unavailable, A5 hidden
    assert [c.name for c in catalog.top_categories] == ["Fresh Food"]
    assert [c.name for c in catalog.children("fresh-food")] == ["Dairy", "Fruit & Veg"]
    assert sorted(catalog.by_category["fresh-food"]) == ["A1", "A2", "A3"]
    assert sorted(catalog.by_category["dairy"]) == ["A1", "A2"]
    cheddar = catalog.get("A2")
    assert cheddar.category == "cheese" and cheddar.category_path == (
        "fresh-food",
        "dairy",
        "cheese",
    )
    assert cheddar.details.brand == "Hofgut" and cheddar.details.description == "About Cheddar."
    assert dict(cheddar.details.attributes) == {"organic": "yes", "pack_size": "small"}
    assert cheddar.price_text == "€2.50" and cheddar.details.image_url.endswith("/A2.jpg")
    assert catalog.category_label("cheese") == "Fresh Food › Dairy › Cheese"
    assert catalog.search("cheddar")[0][0] == "A2" and not catalog.search("bleach")
    assert catalog.image_origins == ("https://img.example.test",)


def test_a_full_reimport_retires_what_it_no_longer_lists(engine, tmp_path):
    import_catalog(engine, write_csv(tmp_path / "p.csv", ROWS))
    plan = import_catalog(engine, write_csv(tmp_path / "p2.csv", ROWS[1:]))
    assert (plan.added, plan.updated, plan.retired) == (0, 4, 1)
    catalog = load_catalog(engine)
    assert "A1" not in catalog.products and catalog.search("oat") == []
    assert "milk" not in catalog.by_category  # its only product is retired
    with engine.connect() as conn:
        retired = conn.execute(
            select(db.catalog_items.c.retired).where(db.catalog_items.c.id == "A1")
        ).scalar_one()
    assert retired is not None  # kept, not deleted: its history and links stay explainable
    plan = import_catalog(engine, write_csv(tmp_path / "p3.csv", ROWS))
    assert plan.restored == 1 and "A1" in load_catalog(engine).products


def test_append_upserts_and_retires_nothing(engine, tmp_path):
    import_catalog(engine, write_csv(tmp_path / "p.csv", ROWS))
    changed = [
        row("A3", "Pink Lady Apples", "Fresh Food > Fruit & Veg > Fruit", price="3.10"),
        row("B1", "Ground Coffee", "Drinks > Hot Drinks > Coffee"),
        row("A4", "Bleach", "Household > Cleaning > Surfaces", available="yes"),
    ]
    plan = import_catalog(engine, write_csv(tmp_path / "more.csv", changed), append=True)
    assert (plan.added, plan.updated, plan.retired) == (1, 2, 0)
    catalog = load_catalog(engine)
    assert sorted(catalog.products) == ["A1", "A2", "A3", "A4", "B1"]
    assert catalog.get("A3").title == "Pink Lady Apples" and catalog.get("A3").price == 3.10
    assert [c.name for c in catalog.top_categories] == ["Fresh Food", "Household", "Drinks"]
    assert catalog.get("A1").category == "milk"  # the stored taxonomy kept its slugs


def test_json_lines_and_parquet_catalogs(engine, tmp_path):
    path = tmp_path / "catalog.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for r in ROWS[:3]:
            fh.write(json.dumps(r | {"price": float(r["price"]), "stock": 4}) + "\n")
    plan = import_catalog(engine, path, {"stock": "stock"})
    assert plan.added == 3 and plan.rejected == {}
    assert load_catalog(engine).get("A1").price == 2.5
    pd.DataFrame(ROWS).to_parquet(tmp_path / "catalog.parquet")
    plan = import_catalog(engine, tmp_path / "catalog.parquet")
    assert (plan.added, plan.updated) == (2, 3)


def test_stock_decides_availability_when_there_is_no_available_column(engine, tmp_path):
    rows = [{"sku": "S1", "name": "Tea", "stock": "0"}, {"sku": "S2", "name": "Milk", "stock": "7"}]
    import_catalog(engine, write_csv(tmp_path / "s.csv", rows))
    orders = write_csv(
        tmp_path / "o.csv",
        [
            {"InvoiceNo": "1", "StockCode": "S1", "Description": "TEA", "Quantity": "1",
             "UnitPrice": "1.0", "InvoiceDate": "2024-01-01 10:00", "CustomerID": "1",
             "Country": "Germany"},
            {"InvoiceNo": "1", "StockCode": "S2", "Description": "MILK", "Quantity": "1",
             "UnitPrice": "0.9", "InvoiceDate": "2024-01-01 10:00", "CustomerID": "1",
             "Country": "Germany"},
        ],
    )  # fmt: skip
    import_orders(engine, orders)
    catalog = load_catalog(engine)
    assert sorted(catalog.products) == ["S2"]  # S1 is out of stock
    # no category column: in no category, never one of the demo's gift categories
    assert catalog.get("S2").category == "uncategorised"
    assert categorize("Milk").slug == "kitchen-dining"  # what the demo's enrichment would say


def test_orders_never_overwrite_the_catalog_and_orders_only_products_exist(engine, tmp_path):
    import_catalog(engine, write_csv(tmp_path / "p.csv", ROWS))
    orders = [
        {"InvoiceNo": "9", "StockCode": pid, "Description": title, "Quantity": "2",
         "UnitPrice": "1.00", "InvoiceDate": "2024-02-01 09:00", "CustomerID": "77",
         "Country": "France"}
        for pid, title in (("A2", "CHEESE BLOCK RED MUG"), ("Z9", "CHRISTMAS MUG"))
    ]  # fmt: skip
    import_orders(engine, write_csv(tmp_path / "o.csv", orders))
    catalog = load_catalog(engine)
    cheddar = catalog.get("A2")
    assert cheddar.title == "Cheddar" and cheddar.category == "cheese"  # the catalog's, kept
    assert cheddar.units_sold == 2  # the orders' own facts still count
    other = catalog.get("Z9")
    assert other is not None and other.category == "uncategorised"
    assert "christmas" not in {c.slug for c in catalog.categories}  # no gift categories
    # the product only orders knew takes the catalog's data once a catalog lists it
    import_catalog(
        engine, write_csv(tmp_path / "z.csv", [row("Z9", "Red Mug", "Home > Mugs")]), append=True
    )
    z9 = load_catalog(engine).get("Z9")
    assert (z9.title, z9.category, z9.units_sold) == ("Red Mug", "mugs", 2)


def test_the_demo_keeps_its_derived_categories_from_the_keyword_table_data(engine, tmp_path):
    orders = [
        {"InvoiceNo": "1", "StockCode": "85123A", "Description": "CHRISTMAS MUG",
         "Quantity": "1", "UnitPrice": "2.0", "InvoiceDate": "2011-01-01 10:00",
         "CustomerID": "1", "Country": "United Kingdom"},
    ]  # fmt: skip
    import_orders(engine, write_csv(tmp_path / "o.csv", orders))
    catalog = load_catalog(engine)
    assert catalog.get("85123A").category == "christmas"
    assert catalog.category_name("other") == "More gifts"
    assert KEYWORD_TABLE.suffix == ".yaml" and KEYWORD_TABLE.parent.name == "data"
    # the table is data: a changed file changes the categories, no code involved
    text = KEYWORD_TABLE.read_text(encoding="utf-8").replace('"XMAS"', '"YULETIDE"')
    edited = tmp_path / "table.yaml"
    edited.write_text(text, encoding="utf-8")
    _, rules = _load_table(edited)
    assert "YULETIDE" in dict(rules)["christmas"]


@pytest.mark.parametrize(
    "rows, needle",
    [
        ([{"title": "No id column"}], "no column for id"),
        ([row("A1", "", "X")] * 3, "no usable rows"),
        ([row("A1", "Ok", "X")] + [row("bad id!", "T", "X")] * 4, "rows rejected"),
        ([row("A1", "Ok", "X", price="cheap")] * 2, "price: not a number"),
        ([row("A1", "Ok", "X", image_url="javascript:alert(1)")], "image_url: not an http"),
        ([row("A1", "Ok", "X", image_url="https://h;script-src *")], "image_url: not an http"),
    ],
)
def test_a_refused_import_changes_nothing(engine, tmp_path, rows, needle):
    import_catalog(engine, write_csv(tmp_path / "p.csv", ROWS))
    before = snapshot_tables(engine)
    with pytest.raises(CatalogImportError, match=needle):
        import_catalog(engine, write_csv(tmp_path / "bad.csv", rows))
    assert snapshot_tables(engine) == before


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STOREFRONT_HOME": str(home)}
    env.pop("STOREFRONT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "storefront.cli", "import", "products", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_dry_runs_refuses_with_a_reason_and_never_a_traceback(tmp_path):
    home = tmp_path / "home"
    good = write_csv(tmp_path / "p.csv", ROWS)
    r = cli(home, str(good), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "Would import 5 of 5 rows" in r.stdout and "Dry run: nothing was written" in r.stdout
    engine = db.make_engine(f"sqlite:///{home / 'storefront.db'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.catalog_items)).scalar_one() == 0
    assert cli(home, str(good)).returncode == 0
    before = snapshot_tables(engine)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "empty.csv").write_text("id,title\n", encoding="utf-8")
    one_bad = write_csv(tmp_path / "one-bad.csv", [*ROWS[:4], row("bad id!", "T", "X")])
    for args, needle in (
        ([str(tmp_path / "junk.parquet")], "cannot read"),
        ([str(tmp_path / "empty.csv")], "no rows"),
        ([str(tmp_path / "missing.csv")], "no such file"),
        ([str(good), "--map", "title=Nope"], "no column 'Nope'"),
        ([str(good), "--map", "colour=brand"], "unknown field 'colour'"),
        ([str(good), "--map", "title"], "FIELD=COLUMN"),
        ([str(one_bad), "--max-reject-share", "0.1"], "1 of 5 rows rejected"),
    ):
        r = cli(home, *args)
        assert r.returncode != 0, args
        assert needle in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
    assert snapshot_tables(engine) == before
    engine.dispose()


def test_launch_dates_in_several_forms_and_a_bad_one_rejected(engine, tmp_path):
    rows = [
        row("D1", "Iso", "A", launch_date="2024-03-01"),
        row("D2", "Unix", "A", launch_date="1700000000"),
        row("D3", "Other form", "A", launch_date="03/05/2024 10:00"),
        row("D4", "None", "A", launch_date=""),
        row("D5", "Junk", "A", launch_date="soon"),
    ] + [row(f"E{i}", f"Filler {i}", "A") for i in range(5)]
    plan = import_catalog(engine, write_csv(tmp_path / "d.csv", rows))
    assert plan.rejected == {"launch_date: not a date": 1}
    catalog = load_catalog(engine)
    firsts = {pid: catalog.get(pid).first_sold for pid in ("D1", "D2", "D3", "D4")}
    assert firsts["D1"].isoformat() == "2024-03-01T00:00:00"
    assert firsts["D2"].isoformat() == "2023-11-14T22:13:20"
    assert firsts["D3"].isoformat() == "2024-03-05T10:00:00" and firsts["D4"] is None
