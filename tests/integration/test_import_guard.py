"""`storefront import orders` never leaves a store worse than it found it.

Each bad file gets one message naming the problem, exit status 1 and no traceback, and the
store keeps every row it had (counts and a sample of rows compared before and after). Runs the
real command (click's runner, in this process) against a real SQLite store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from storefront import db
from storefront.cli import main
from storefront.importer import ImportRefused, import_orders
from tests.stores.grocery import write_store

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = [
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,UK",
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom",
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom",
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,EIRE",
]
TABLES = (db.order_lines, db.products, db.customers, db.categories, db.import_runs)


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "shop"
    monkeypatch.setenv("STOREFRONT_HOME", str(home))
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", f"sqlite:///{home / 'storefront.db'}")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    result = _cli("import", "orders", str(good))
    assert result.exit_code == 0, result.output
    return home


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _engine(home):
    return db.make_engine(f"sqlite:///{home / 'storefront.db'}")


def snapshot(home) -> dict:
    """Counts of every table the import writes, and its rows (a sample: the first 50 by key)."""
    engine = _engine(home)
    with engine.connect() as conn:
        out = {
            t.name: (
                conn.execute(select(func.count()).select_from(t)).scalar_one(),
                [
                    tuple(r)
                    for r in conn.execute(select(t).order_by(*t.primary_key.columns).limit(50))
                ],
            )
            for t in TABLES
        }
    engine.dispose()
    return out


def _refused(home, path, *extra: str) -> str:
    """Run the import of a bad file: exit 1, no traceback, store unchanged; the message."""
    before = snapshot(home)
    result = _cli("import", "orders", str(path), *extra)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert snapshot(home) == before
    assert before["order_lines"][0] == 4
    return result.stderr


def test_zero_byte_file(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")
    assert "orders.csv: the file is empty (0 bytes)" in _refused(home, path)


def test_binary_file(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(bytes(range(256)) * 64)
    assert "orders.csv: this looks like a binary file, not a text (CSV) file" in _refused(
        home, path
    )


def test_corrupt_parquet(home, tmp_path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"InvoiceNo": ["1"] * 50}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:-30])
    assert "orders.parquet: a damaged or unreadable Parquet file" in _refused(home, path)


def test_header_only_file(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER, encoding="utf-8")
    assert "orders.csv: the file has column names (InvoiceNo, StockCode" in _refused(home, path)


def test_unknown_columns(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("colour,size\nred,L\n", encoding="utf-8")
    message = _refused(home, path)
    assert "Cannot find a column for: invoice (tried InvoiceNo, Invoice" in message
    assert "Columns in the file: colour, size." in message


def test_a_mapping_that_takes_a_column_another_field_needs_says_so(home, tmp_path):
    paths = write_store(tmp_path / "grocery", customers=20, days=30)
    message = _refused(home, paths["orders"], "--map", "title=sku")
    assert "Cannot find a column for: product_id" in message
    assert "Column 'sku' would be product_id, but the mapping gives it to title." in message
    both = _refused(home, paths["orders"], "--map", "title=sku", "--map", "product_id=sku")
    assert "The mapping gives column 'sku' to both title and product_id." in both


def test_values_out_of_range_are_refused_with_the_reasons(home, tmp_path):
    path = tmp_path / "orders.csv"
    rows = [
        "1,SKU1,Mug,3,1970-01-01 00:00:00,2.5,1,DE",  # epoch zero: a unit mix-up
        "2,SKU2,Bowl,99999999999,2011-01-01 10:00:00,2.5,1,DE",  # beyond any quantity column
        "3,SKU3,Cup,1,2011-01-01 10:00:00,inf,1,DE",
        "4,SKU4,Jug,1,2199-01-01 10:00:00,2.5,1,DE",  # the future
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    message = _refused(home, path)
    assert "Refused to import orders.csv: none of its 4 rows could be loaded." in message
    assert "2  date out of range (before 1980 or in the future)" in message
    assert "2  quantity or price out of range" in message
    assert "Nothing was changed." in message and "--force" in message


def test_control_bytes_in_a_bad_file_are_never_echoed(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\x1b]0;owned\x07name,\x1b[31mqty\n" + b"a,1\n" * 40)
    message = _refused(home, path)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b]0;owned\\x07name, \\x1b[31mqty" in message


def test_semicolon_csv_with_a_comma_in_a_field_imports(home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country\n"
        "1;A1;Bowl, large;2;13.01.2011 10:00;1,50;7;Germany\n"
        "2;B2;Cup;1;14.01.2011 11:00;2,00;8;Germany\n",
        encoding="cp1252",
    )
    result = _cli("import", "orders", str(path))
    assert result.exit_code == 0, result.output
    assert "replaced the store with 2 order lines" in result.stdout
    with _engine(home).connect() as conn:
        titles = set(conn.execute(select(db.products.c.title)).scalars())
    assert titles == {"Bowl, large", "Cup"}


def test_too_many_rejected_is_refused_unless_forced_or_allowed(home, tmp_path):
    path = tmp_path / "orders.csv"
    rows = [ROWS[0], "9,X,Thing,1,not a date,1.0,5,DE", "9,Y,Other,1,no date,1.0,5,DE"]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    message = _refused(home, path)
    assert "2 of 3 rows (67%) would be rejected, more than the 50% allowed" in message
    assert "2  unparseable date" in message
    assert _cli("import", "orders", str(path), "--max-reject-share", "0.7").exit_code == 0
    assert snapshot(home)["order_lines"][0] == 1
    result = _cli("import", "orders", str(_header_only_plus(tmp_path)), "--force")
    assert result.exit_code == 0, result.output
    assert "Imported despite: none of its 1 rows could be loaded" in result.stdout
    assert snapshot(home)["order_lines"][0] == 0


def _header_only_plus(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_text(HEADER + "1,A,Mug,1,garbage,1.0,5,DE\n", encoding="utf-8")
    return path


def test_dry_run_writes_nothing(home, tmp_path):
    paths = write_store(tmp_path / "grocery", customers=20, days=30)
    before = snapshot(home)
    result = _cli("import", "orders", str(paths["orders"]), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would replace the store with" in result.stdout and "Dry run" in result.stdout
    assert snapshot(home) == before


def test_json_report_and_progress_on_stderr(home, tmp_path):
    paths = write_store(tmp_path / "grocery", customers=20, days=30)
    quiet = _cli("import", "orders", str(paths["orders"]), "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["rows_loaded"] == snapshot(home)["order_lines"][0]
    loud = _cli("import", "orders", str(paths["orders"]))
    assert "writing: 100%" in loud.stderr and "writing" not in loud.stdout


def test_train_on_an_empty_store_says_so(tmp_path, monkeypatch):
    home = tmp_path / "empty"
    monkeypatch.setenv("STOREFRONT_HOME", str(home))
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", f"sqlite:///{home / 'storefront.db'}")
    result = _cli("train")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "The store has no order lines or interactions to train on." in result.stderr


def test_grocery_store_imports_with_no_mapping_and_right_dates(home, tmp_path):
    paths = write_store(tmp_path / "grocery", customers=60, days=90)
    raw = pd.read_csv(paths["orders"], dtype=str)
    result = _cli("import", "orders", str(paths["orders"]))
    assert result.exit_code == 0, result.output
    assert "Rejected" in result.stdout
    with _engine(home).connect() as conn:
        first, last = conn.execute(
            select(func.min(db.order_lines.c.ts), func.max(db.order_lines.c.ts))
        ).one()
        customers = conn.execute(select(func.count()).select_from(db.customers)).scalar_one()
    created = raw["created"].astype(int)
    utc = [
        datetime.fromtimestamp(t, UTC).replace(tzinfo=None) for t in (created.min(), created.max())
    ]
    assert (first, last) == tuple(utc)  # unix seconds are UTC: no store-zone shift
    assert customers == raw["customer"].dropna().nunique()


def test_invoices_starting_with_c_are_orders_unless_configured(home, tmp_path):
    path = tmp_path / "orders.csv"
    rows = [
        "C1001,SKU1,Mug,2,2011-01-01 10:00:00,2.5,7,DE",
        "C1002,SKU2,Bowl,1,2011-01-02 10:00:00,4.0,8,DE",
        "C1003,SKU2,Bowl,-1,2011-01-03 10:00:00,4.0,8,DE",  # a negative quantity: always a return
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    engine = _engine(home)
    report = import_orders(engine, path, max_reject_share=1.0)
    assert report.rows_loaded == 1  # C1001 kept; C1002 reversed by the return C1003
    assert report.rejected == {"cancellation": 1, "reversed by a later cancellation": 1}
    with pytest.raises(ImportRefused):  # the demo's rule: every line is a cancellation
        import_orders(engine, path, cancel_prefix="C", max_reject_share=1.0)


def test_readers_see_the_old_store_until_the_new_one_is_committed(home, tmp_path):
    paths = write_store(tmp_path / "grocery", customers=30, days=60)
    engine, reader = _engine(home), _engine(home)
    seen: list[int] = []

    def look(done: int, total: int) -> None:  # called inside the import's transaction
        with reader.connect() as conn:
            seen.append(conn.execute(select(func.count()).select_from(db.order_lines)).scalar())

    report = import_orders(engine, paths["orders"], bar=look)
    assert seen and set(seen) == {4}
    assert snapshot(home)["order_lines"][0] == report.rows_loaded > 4
