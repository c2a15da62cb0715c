"""Order and interaction times in the shapes other systems export them, and ambiguity rules."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from storefront.timestamps import parse_times

NOW = datetime(2026, 1, 1)


def _parse(values, **kw):
    return parse_times(pd.Series(values, dtype=object), now=NOW, **kw)


def test_unix_seconds_and_milliseconds_as_text_or_numbers():
    expected = [pd.Timestamp("2024-01-01 21:04:09"), pd.Timestamp("2024-08-28 20:11:22")]
    assert _parse(["1704143049", "1724875882"]).ts.tolist() == expected
    assert _parse(["1704143049000", "1724875882000"]).ts.tolist() == expected
    assert parse_times(pd.Series([1704143049, 1724875882]), now=NOW).ts.tolist() == expected
    assert _parse(["1704143049.5"]).ts.tolist() == [pd.Timestamp("2024-01-01 21:04:09.5")]
    assert _parse(["1704143049"]).fmt == "unix s" and _parse(["1704143049000"]).fmt == "unix ms"


def test_spreadsheet_serial_days():
    parsed = _parse(["45292", "45292.5"])  # a date column saved from a spreadsheet as numbers
    assert parsed.fmt == "serial days"
    assert parsed.ts.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 12:00")]


def test_iso_8601_with_offsets_becomes_utc_and_naive_times_use_the_store_zone():
    parsed = _parse(
        ["2024-03-01T09:30:00+02:00", "2024-03-01T09:30:00Z", "2024-03-01 09:30:00"],
        source_tz="Europe/Berlin",
    )
    assert parsed.ts.tolist() == [
        pd.Timestamp("2024-03-01 07:30"),  # the offset decides
        pd.Timestamp("2024-03-01 09:30"),  # Z is UTC
        pd.Timestamp("2024-03-01 08:30"),  # no offset: Berlin wall-clock time
    ]


def test_one_unambiguous_date_decides_the_whole_column():
    day_first = _parse(["03/04/2024 10:00", "13/04/2024 10:00"])
    assert day_first.ts.tolist()[0] == pd.Timestamp("2024-04-03 10:00") and not day_first.notes
    month_first = _parse(["03/04/2024 10:00", "04/13/2024 10:00"])
    assert month_first.ts.tolist()[0] == pd.Timestamp("2024-03-04 10:00")
    dotted = _parse(["01.02.2024", "28.02.2024"])
    assert dotted.ts.tolist()[0] == pd.Timestamp("2024-02-01")


def test_a_fully_ambiguous_column_is_resolved_as_documented_and_said():
    slash = _parse(["03/04/2024 10:00", "05/06/2024 10:00"])
    assert slash.ts.tolist()[0] == pd.Timestamp("2024-03-04 10:00")  # month-first
    assert "read them month-first" in slash.notes[0] and "--date-order dmy" in slash.notes[0]
    dotted = _parse(["03.04.2024", "05.06.2024"])
    assert dotted.ts.tolist()[0] == pd.Timestamp("2024-04-03")  # day-first
    told = _parse(["03/04/2024 10:00", "05/06/2024 10:00"], date_order="dmy")
    assert told.ts.tolist()[0] == pd.Timestamp("2024-04-03 10:00") and not told.notes
    with pytest.raises(ValueError):
        _parse(["03/04/2024"], date_order="ymd")


def test_out_of_range_times_are_flagged_not_stored():
    parsed = _parse(["0", "1704143049", "4102444800"])  # 1970, 2024, 2100
    assert parsed.out_of_range.tolist() == [True, False, True]
    assert parsed.ts.isna().tolist() == [True, False, True]
    junk = _parse(["not a date", "2024-01-01"])
    assert junk.ts.isna().tolist() == [True, False] and not junk.out_of_range.any()
