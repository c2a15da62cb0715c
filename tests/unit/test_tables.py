"""The one reader behind every import: what it reads, and the one message for each bad file."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from storefront.importer import ImportFileError, read_table

HEADER = "order_id,sku,product_name,qty,unit_price,created,customer,country_code\n"
ROW = "O1,SKU-1,Oat Drink,2,1.99,1704143049,000522,DE\n"


def _error(path) -> str:
    with pytest.raises(ImportFileError) as info:
        read_table(path)
    assert isinstance(info.value, ValueError)  # callers that caught ValueError still do
    return str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")
    assert _error(path) == "orders.csv: the file is empty (0 bytes)"


def test_binary_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(bytes(range(256)) * 40)
    assert _error(path) == "orders.csv: this looks like a binary file, not a text (CSV) file"


def test_a_workbook_or_parquet_under_a_csv_name_is_named(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "a ZIP archive (an Excel .xlsx workbook is one)" in _error(path)
    path.write_bytes(b"PAR1" + b"\x00" * 100)
    assert "this is a Parquet file, not a text (CSV) file" in _error(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"a": range(100)}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:-40])  # the footer is gone
    assert _error(path).startswith("orders.parquet: a damaged or unreadable Parquet file (")
    path.write_bytes(b"just some text, not parquet")
    assert _error(path) == "orders.parquet: not a Parquet file (it lacks the PAR1 mark)"


def test_header_only(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER, encoding="utf-8")
    assert _error(path) == (
        "orders.csv: the file has column names (order_id, sku, product_name, qty, unit_price, "
        "created, customer, country_code) but no rows"
    )


def test_unknown_file_type_and_old_spreadsheets_are_refused_by_name(tmp_path):
    for name, expected in (
        ("orders.xls", ".xls spreadsheets are not read; save the sheet as CSV"),
        ("orders.numbers", ".numbers spreadsheets are not read"),
        ("orders.pdf", "unknown file type; expected .csv"),
    ):
        path = tmp_path / name
        path.write_bytes(b"\xd0\xcf\x11\xe0 not really")
        assert expected in _error(path)


def test_control_bytes_are_never_echoed(tmp_path):
    path = tmp_path / "orders.csv"
    # terminal escapes (clear screen, set title) in a header with no rows under it
    path.write_bytes(b"\x1b[2J\x1b]0;pwned\x07,sku,title,quantity,price,date,customer\n")
    message = _error(path)
    assert "\x1b" not in message and "\x07" not in message
    assert "(\\x1b[2J\\x1b]0;pwned\\x07, sku," in message


def test_semicolon_csv_with_commas_in_fields(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        'order_id;sku;product_name;unit_price\n1;A;"Bowl, large";1,50\n2;B;Cup, small;2,00\n',
        encoding="utf-8",
    )
    df = read_table(path)
    assert list(df.columns) == ["order_id", "sku", "product_name", "unit_price"]
    assert df["product_name"].tolist() == ["Bowl, large", "Cup, small"]
    assert df["unit_price"].tolist() == ["1,50", "2,00"]


def test_encodings_and_byte_order_marks(tmp_path):
    text = "sku\ttitle\n001\tCafé crème\n"
    for name, data in (
        ("bom.tsv", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf16.txt", text.encode("utf-16")),  # Excel's "Unicode text": UTF-16 with a BOM
        ("win.tsv", text.encode("cp1252")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        df = read_table(path)
        assert list(df.columns) == ["sku", "title"], name
        assert df.loc[0, "sku"] == "001" and df.loc[0, "title"] == "Café crème", name


def test_gzipped_csv_and_pipe_delimiter(tmp_path):
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(b"a|b|c\n1|2|3\n"))
    assert read_table(path).to_dict("records") == [{"a": "1", "b": "2", "c": "3"}]


def test_ragged_csv_names_the_line(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")
    message = _error(path)
    assert message.startswith("orders.csv: cannot be read as comma-separated text (")
    assert "line 3" in message


def test_json_lines_every_column_text(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"user": 17850, "sku": "0042", "price": 2.5, "meta": {"a": 1}}\n\n{"user": 12}\n',
        encoding="utf-8",
    )
    df = read_table(path)
    assert df["user"].tolist() == ["17850", "12"] and df.loc[0, "sku"] == "0042"
    assert df.loc[0, "price"] == "2.5" and df.loc[0, "meta"] == '{"a": 1}'
    assert pd.isna(df.loc[1, "sku"])
    path.write_text('{"user": 1}\nnot json\n', encoding="utf-8")
    assert _error(path).startswith("events.jsonl: line 2 is not JSON (")


def test_xlsx_is_read_first_sheet_as_text(tmp_path):
    path = tmp_path / "orders.xlsx"
    pd.DataFrame({"sku": ["0042", "A1"], "qty": [2, 3], "price": [1.5, None]}).to_excel(
        path, index=False
    )
    df = read_table(path)
    assert df["sku"].tolist() == ["0042", "A1"] and df["qty"].tolist() == ["2", "3"]
    assert df.loc[0, "price"] == "1.5" and pd.isna(df.loc[1, "price"])
    path.write_bytes(b"PK\x03\x04 truncated")
    assert _error(path).startswith("orders.xlsx: a damaged or unreadable .xlsx workbook (")


def test_parquet_columns_come_back_as_text(tmp_path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame(
        {
            "customer": [17850.0, None],
            "qty": [6, 2],
            "when": pd.to_datetime(["2010-12-01 08:26", "2010-12-02 09:00"]),
        }
    ).to_parquet(path)
    df = read_table(path)
    assert df["customer"].tolist()[0] == "17850" and pd.isna(df["customer"].tolist()[1])
    assert df["qty"].tolist() == ["6", "2"]
    assert df.loc[0, "when"] == "2010-12-01 08:26:00"


def test_the_error_type_takes_a_bare_message_too():
    error = ImportFileError("row 3: price \x1b[31m is not a number")
    assert str(error) == "row 3: price \\x1b[31m is not a number" and error.path == ""
    assert str(ImportFileError("/x/y/orders.csv", "bad")) == "orders.csv: bad"
