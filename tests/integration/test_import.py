"""Importing order files into a real SQLite store: counts, replacement, atomic failure."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storefront import db
from storefront.categories import CATEGORIES
from storefront.cleaning import MappingError
from storefront.importer import ImportReport, import_orders, read_table

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,"
    "United Kingdom",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,EIRE",
    "536367,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-02 09:00:00,2.95,13047,EIRE",
    "536368,22423,REGENCY CAKESTAND 3 TIER,1,2010-12-02 10:00:00,12.75,,United Kingdom",
    "C536379,22423,REGENCY CAKESTAND 3 TIER,-1,2010-12-03 11:00:00,12.75,14527,United Kingdom",
    "536370,POST,POSTAGE,3,2010-12-04 10:00:00,18.00,12583,France",
    '536371,21730,"GLASS STAR FROSTED T-LIGHT HOLDER, LARGE",4,2010-12-04 11:00:00,4.25,12583,'
    "France",
]


def _write(path, rows, header=HEADER):
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (db.order_lines, db.products, db.customers, db.categories, db.import_runs)
        }


@pytest.fixture
def engine(tmp_path):
    eng = db.make_engine(f"sqlite:///{tmp_path / 'storefront.db'}")
    db.create_schema(eng)
    yield eng
    eng.dispose()


def test_import_writes_every_table(engine, tmp_path):
    messages: list[str] = []
    report = import_orders(engine, _write(tmp_path / "orders.csv", ROWS), progress=messages.append)
    assert isinstance(report, ImportReport)
    assert report.rows_read == 9 and report.rows_loaded == 7
    assert report.rejected == {"cancellation": 1, "not a product (postage, fees, adjustments)": 1}
    assert report.guest_rows == 1 and report.products == 6 and report.customers == 3
    assert sum(report.categories.values()) == 6
    assert messages and any("order lines" in m for m in messages)
    assert _counts(engine) == {
        "order_lines": 7,
        "products": 6,
        "customers": 3,
        "categories": len(CATEGORIES),
        "import_runs": 1,
    }
    with engine.connect() as conn:
        heart = conn.execute(select(db.products).where(db.products.c.id == "85123A")).one()
        irish = conn.execute(select(db.customers).where(db.customers.c.id == "13047")).one()
        run = conn.execute(select(db.import_runs)).one()
        guest = conn.execute(
            select(func.count())
            .select_from(db.order_lines)
            .where(db.order_lines.c.customer_id.is_(None))
        ).scalar_one()
    assert heart.title == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert heart.category == "candles-lighting" and heart.units_sold == 8
    assert heart.price == pytest.approx(2.75)  # median of 2.55 and 2.95
    assert str(heart.first_sold) == "2010-12-01 08:26:00"
    assert (irish.country, irish.country_name) == ("IE", "Ireland")
    assert str(irish.first_order) == "2010-12-01 08:34:00"
    assert json.loads(run.rejected) == report.rejected and run.rows_loaded == 7
    assert guest == 1
    text = "\n".join(report.lines())
    assert "Read 9 rows" in text and "cancellation" in text and "Candles & lighting" in text


def test_second_import_replaces(engine, tmp_path):
    path = _write(tmp_path / "orders.csv", ROWS)
    import_orders(engine, path)
    import_orders(engine, path)
    counts = _counts(engine)
    assert counts["order_lines"] == 7 and counts["products"] == 6
    assert counts["customers"] == 3 and counts["import_runs"] == 2

    other = _write(tmp_path / "other.csv", ROWS[:2])
    import_orders(engine, other)
    with engine.connect() as conn:
        ids = set(conn.execute(select(db.products.c.id)).scalars())
    assert ids == {"85123A", "71053"}
    assert _counts(engine)["order_lines"] == 2


def test_append_folds_products_and_customers(engine, tmp_path):
    import_orders(engine, _write(tmp_path / "a.csv", ROWS[:3]))
    later = [
        "536400,85123A,WHITE HANGING HEART T-LIGHT HOLDER,4,2011-01-05 10:00:00,2.55,"
        "17850,United Kingdom"
    ]
    report = import_orders(engine, _write(tmp_path / "b.csv", later), replace=False)
    assert report.rows_loaded == 1
    with engine.connect() as conn:
        heart = conn.execute(select(db.products).where(db.products.c.id == "85123A")).one()
        cust = conn.execute(select(db.customers).where(db.customers.c.id == "17850")).one()
    assert heart.units_sold == 10 and str(heart.first_sold) == "2010-12-01 08:26:00"
    assert str(cust.first_order) == "2010-12-01 08:26:00"
    assert str(cust.last_order) == "2011-01-05 10:00:00"
    assert _counts(engine)["order_lines"] == 4 and _counts(engine)["products"] == 3


def test_missing_column_leaves_store_unchanged(engine, tmp_path):
    import_orders(engine, _write(tmp_path / "orders.csv", ROWS))
    before = _counts(engine)
    bad_header = HEADER.replace("Quantity,", "Amount,")
    bad = _write(tmp_path / "bad.csv", ROWS, header=bad_header)
    with pytest.raises(MappingError) as info:
        import_orders(engine, bad)
    assert "quantity" in str(info.value) and "Amount" in str(info.value)
    assert _counts(engine) == before


def test_failure_midway_rolls_back(engine, tmp_path):
    import_orders(engine, _write(tmp_path / "orders.csv", ROWS))
    before = _counts(engine)

    def explode(message: str) -> None:
        if message.startswith("wrote"):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_orders(engine, _write(tmp_path / "other.csv", ROWS[:2]), progress=explode)
    assert _counts(engine) == before


def test_read_table_keeps_ids_as_text_and_tolerates_cp1252(tmp_path):
    path = tmp_path / "latin.csv"
    row = "000123,0042,CAFÉ MUG £5,1,2010-12-01 08:26:00,2.5,00017850,NA\n"
    path.write_bytes((HEADER + row).encode("cp1252"))
    df = read_table(path)
    assert df.loc[0, "InvoiceNo"] == "000123" and df.loc[0, "CustomerID"] == "00017850"
    assert df.loc[0, "Description"] == "CAFÉ MUG £5" and df.loc[0, "Country"] == "NA"
    with pytest.raises(ValueError):
        read_table(tmp_path / "orders.xlsx")


def test_schema_upgrade_adds_missing_columns(tmp_path):
    """An instance created before a column existed gets it on the next start, data kept."""
    from sqlalchemy import create_engine, inspect, text

    from storefront.db import create_schema

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE events (id VARCHAR(64) PRIMARY KEY, visitor VARCHAR(64) "
                "NOT NULL, type VARCHAR(16) NOT NULL, product_id VARCHAR(32), "
                "slot VARCHAR(64), query VARCHAR(200), ts DATETIME NOT NULL, "
                "received DATETIME NOT NULL, country VARCHAR(2), device VARCHAR(16))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events VALUES ('e1', 'v', 'view', 'P', NULL, NULL, "
                "'2011-01-01', '2011-01-01', NULL, NULL)"
            )
        )
    create_schema(engine)
    create_schema(engine)  # idempotent
    assert "channel" in {c["name"] for c in inspect(engine).get_columns("events")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, channel FROM events")).all() == [("e1", None)]
