"""Cleaning of raw order exports: every rejection reason, repairs, mappings, and the real file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from storefront.cleaning import (
    CANONICAL_COLUMNS,
    DEFAULT_MAPPING,
    MappingError,
    clean_order_lines,
    repair_text,
    resolve_mapping,
)
from storefront.countries import country_code, country_name

DATA = Path(__file__).resolve().parents[2] / "data" / "online_retail_2010-2011.parquet"

COLUMNS = list(DEFAULT_MAPPING.values())


def _row(invoice, code, title, qty, date, price, customer, country):
    return dict(
        zip(COLUMNS, (invoice, code, title, qty, date, price, customer, country), strict=True)
    )


def _raw() -> pd.DataFrame:
    """One or more rows per outcome, in the shape of the UCI export (float customer ids)."""
    rows = [
        _row(
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            "2010-12-01 08:26:00",
            2.55,
            17850.0,
            "United Kingdom",
        ),
        _row(
            "536366",
            "85123a",
            "WHITE  HANGING HEART T-LIGHT HOLDER ",
            2,
            "2010-12-02 09:00:00",
            2.55,
            17850.0,
            "United Kingdom",
        ),
        _row(
            "536367",
            "22423",
            "REGENCY CAKESTAND 3 TIER",
            1,
            "2010-12-03 10:00:00",
            12.75,
            None,
            "EIRE",
        ),  # a guest line: kept
        _row(
            "C536379",
            "22423",
            "REGENCY CAKESTAND 3 TIER",
            -1,
            "2010-12-03 11:00:00",
            12.75,
            14527.0,
            "United Kingdom",
        ),  # cancellation
        _row(
            "536369",
            "22752",
            "SET 7 BABUSHKA NESTING BOXES",
            2,
            "2010-12-03 09:00:00",
            7.65,
            14527.0,
            "United Kingdom",
        ),  # reversed by the cancellation below
        _row(
            "C536390",
            "22752",
            "SET 7 BABUSHKA NESTING BOXES",
            -2,
            "2010-12-03 12:00:00",
            7.65,
            14527.0,
            "United Kingdom",
        ),
        _row(
            "536370",
            "21730",
            "GLASS STAR FROSTED T-LIGHT HOLDER",
            -3,
            "2010-12-04 10:00:00",
            4.25,
            12583.0,
            "France",
        ),  # a return: a negative quantity is a cancellation, whatever the invoice
        _row("536371", "21731", "damaged", 5, "2010-12-04 11:00:00", 0.0, 12583.0, "France"),
        _row("536372", "POST", "POSTAGE", 1, "2010-12-04 12:00:00", 18.0, 12583.0, "France"),
        _row(
            "536373", "84029G", None, 4, "2010-12-05 09:00:00", 3.39, 13047.0, "Channel Islands"
        ),  # missing description, filled from the next row
        _row(
            "536374",
            "84029G",
            "KNITTED UNION FLAG HOT WATER BOTTLE",
            6,
            "2010-12-05 10:00:00",
            3.39,
            13047.0,
            "Channel Islands",
        ),
        _row("536375", "99999", None, 1, "2010-12-05 11:00:00", 1.0, 13047.0, "RSA"),
        _row(
            "536376", "22752", "SET 7 BABUSHKA NESTING BOXES", 2, "not a date", 7.65, 13047.0, "USA"
        ),
        _row("536377", None, "MYSTERY LINE", 1, "2010-12-06 09:00:00", 1.0, 13047.0, "USA"),
        _row(
            "536378",
            "gift_0001_20",
            "Dotcomgiftshop Gift Voucher Â£20.00",
            1,
            "2010-12-06 10:00:00",
            17.02,
            13047.0,
            "European Community",
        ),
        _row(
            "536380",
            "22633",
            "CAFÃ‰ HAND WARMER",
            12,
            "2010-12-06 11:00:00",
            2.1,
            12431.0,
            "Unspecified",
        ),
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def cleaned():
    return clean_order_lines(_raw(), resolve_mapping(COLUMNS, None))


def test_every_rejection_reason_is_counted_once(cleaned):
    assert cleaned.rows_read == 16
    assert cleaned.rejected == {
        "cancellation": 3,  # C536379, C536390 and the return 536370
        "reversed by a later cancellation": 1,
        "non-positive price": 1,
        "not a product (postage, fees, adjustments)": 2,  # POST and the gift voucher
        "missing description": 1,
        "unparseable date": 1,
        "missing product id": 1,
    }
    assert len(cleaned.lines) + sum(cleaned.rejected.values()) == cleaned.rows_read
    assert list(cleaned.lines.columns) == list(CANONICAL_COLUMNS)


def test_kept_lines_are_canonical(cleaned):
    lines = cleaned.lines
    assert (lines["quantity"] > 0).all() and (lines["price"] > 0).all()
    assert pd.api.types.is_datetime64_any_dtype(lines["ts"])
    heart = lines[lines["product_id"] == "85123A"]
    assert len(heart) == 2  # "85123a" was upper-cased into the same product
    assert set(heart["title"]) == {"WHITE HANGING HEART T-LIGHT HOLDER"}
    assert set(heart["customer_id"]) == {"17850"}
    assert set(heart["country"]) == {"GB"}


def test_missing_description_filled_from_same_product(cleaned):
    bottle = cleaned.lines[cleaned.lines["product_id"] == "84029G"]
    assert len(bottle) == 2
    assert set(bottle["title"]) == {"KNITTED UNION FLAG HOT WATER BOTTLE"}
    assert set(bottle["country"]) == {"JE"}


def test_guest_rows_are_kept_without_customer(cleaned):
    guest = cleaned.lines[cleaned.lines["customer_id"].isna()]
    assert cleaned.guest_rows == 1 == len(guest)
    assert guest["customer_id"].iloc[0] is None
    assert guest["country"].iloc[0] == "IE"


def test_mojibake_repaired(cleaned):
    assert repair_text("Gift Voucher Â£20") == "Gift Voucher £20"
    assert cleaned.repaired_text == 2  # the voucher (rejected) and the hand warmer
    warmer = cleaned.lines[cleaned.lines["product_id"] == "22633"]
    assert warmer["title"].iloc[0] == "CAFÉ HAND WARMER"
    assert warmer["country"].iloc[0] is None  # "Unspecified"


def test_other_shops_column_names_resolve():
    columns = [
        "Invoice",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "Price",
        "Customer ID",
        "Country",
    ]
    mapping = resolve_mapping(columns, None)
    assert mapping == {
        "invoice": "Invoice",
        "product_id": "StockCode",
        "title": "Description",
        "quantity": "Quantity",
        "price": "Price",
        "ts": "InvoiceDate",
        "customer_id": "Customer ID",
        "country": "Country",
    }
    raw = _raw().rename(
        columns={"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    )
    result = clean_order_lines(raw, mapping)
    assert len(result.lines) == 6


def test_generic_aliases_and_overrides():
    mapping = resolve_mapping(
        ["order_id", "SKU", "name", "qty", "unit_price", "created_at", "customer", "ship_to"],
        {"country": "ship_to"},
    )
    assert mapping["invoice"] == "order_id" and mapping["product_id"] == "SKU"
    assert mapping["title"] == "name" and mapping["ts"] == "created_at"
    assert mapping["country"] == "ship_to" and mapping["customer_id"] == "customer"


def test_missing_column_names_it():
    with pytest.raises(MappingError) as info:
        resolve_mapping(["InvoiceNo", "StockCode", "Description", "InvoiceDate", "UnitPrice"])
    assert info.value.missing == ["quantity"]
    assert "quantity" in str(info.value) and "UnitPrice" in str(info.value)


def test_text_csv_values_and_other_date_formats():
    raw = pd.DataFrame(
        {
            "order": ["1", "2", "3"],
            "sku": ["a1", "a1", "b2"],
            "title": ["Mug", "Mug", "Bowl"],
            "qty": ["2", "1", "x"],
            "price": ["£2.50", "2,50", "3"],
            "date": ["12/13/2010 8:26", "1/2/2011 10:00", "1/3/2011 10:00"],
            "customer": ["17850.0", "", "12"],
            "country": ["de", "NA", ""],
        }
    )
    result = clean_order_lines(raw, resolve_mapping(raw.columns, None))
    assert result.rejected == {"unparseable quantity or price": 1}
    lines = result.lines
    assert lines["price"].tolist() == [2.5, 2.5]
    assert lines["ts"].tolist() == [
        pd.Timestamp("2010-12-13 08:26"),
        pd.Timestamp("2011-01-02 10:00"),
    ]
    assert lines["customer_id"].tolist() == ["17850", None]
    assert lines["country"].tolist() == ["DE", "NA"]


def test_source_timezone_converts_to_utc():
    raw = _raw().iloc[:1].copy()
    raw.loc[:, "InvoiceDate"] = "2011-07-01 09:00:00"
    result = clean_order_lines(raw, resolve_mapping(COLUMNS), source_tz="Europe/London")
    assert result.lines["ts"].iloc[0] == pd.Timestamp("2011-07-01 08:00:00")


def test_countries():
    assert country_code("United Kingdom") == "GB" and country_code("EIRE") == "IE"
    assert country_code("RSA") == "ZA" and country_code("USA") == "US"
    assert country_code("Channel Islands") == "JE" and country_code("Czech Republic") == "CZ"
    assert country_code("European Community") is None and country_code("Unspecified") is None
    assert country_code("de") == "DE" and country_code(None) is None
    assert country_name("GB") == "United Kingdom" and country_name("DE") == "Germany"
    assert country_name("XX") is None


@pytest.mark.skipif(not DATA.exists(), reason="bundled data file missing")
def test_real_file_totals_are_plausible():
    raw = pd.read_parquet(DATA)
    result = clean_order_lines(raw, resolve_mapping(raw.columns, None))
    lines = result.lines
    assert result.rows_read == 541_909
    negative = raw["Quantity"] < 0
    assert result.rejected["cancellation"] == int(negative.sum())
    assert raw.loc[raw["InvoiceNo"].str.startswith("C"), "Quantity"].lt(0).all()
    assert (lines["quantity"] > 0).all() and (lines["price"] > 0).all()
    assert lines["customer_id"].nunique() >= 4_300
    assert lines["quantity"].max() < 10_000  # the 80,995 and 74,215 unit orders were reversed
    assert 500_000 < len(lines) < 541_909
    assert result.guest_rows == int(lines["customer_id"].isna().sum()) > 100_000
    assert result.repaired_text >= 32
    assert not lines["title"].str.contains("Â").any()
    assert lines.groupby("product_id")["title"].nunique().max() == 1
    assert (lines["product_id"] == lines["product_id"].str.upper()).all()
    assert not lines["product_id"].isin(["POST", "DOT", "M", "C2", "D", "S", "B"]).any()
    assert lines["country"].dropna().str.fullmatch(r"[A-Z]{2}").all()
