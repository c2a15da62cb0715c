"""local_time() and friends: zones, dayparts, weekends, seasons and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from storefront.signals import (
    country_timezone,
    daypart,
    holiday_on,
    local_time,
    next_holiday,
    parse_override_time,
    season,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (0, 0, "night"),
        (4, 59, "night"),
        (5, 0, "morning"),
        (11, 59, "morning"),
        (12, 0, "afternoon"),
        (16, 59, "afternoon"),
        (17, 0, "evening"),
        (21, 59, "evening"),
        (22, 0, "night"),
        (23, 59, "night"),
    ],
)
def test_daypart_boundaries(hour: int, minute: int, expected: str) -> None:
    assert daypart(hour) == expected
    lt = local_time(utc(2011, 6, 15, hour, minute), None, "UTC", "UTC")
    assert lt.daypart == expected


def test_same_instant_morning_in_london_evening_in_tokyo() -> None:
    now = utc(2011, 12, 5, 9, 30)  # a Monday
    london = local_time(now, "GB", None, "UTC")
    tokyo = local_time(now, "JP", None, "UTC")
    assert (london.timezone, london.daypart, london.local.hour) == ("Europe/London", "morning", 9)
    assert (tokyo.timezone, tokyo.daypart, tokyo.local.hour) == ("Asia/Tokyo", "evening", 18)
    assert london.local == tokyo.local  # same instant
    assert london.local.utcoffset() == timedelta(0)
    assert tokyo.local.utcoffset() == timedelta(hours=9)


def test_dst_is_applied() -> None:
    lt = local_time(utc(2011, 7, 1, 11, 0), "GB", None, "UTC")
    assert lt.local.hour == 12 and lt.daypart == "afternoon"


def test_local_date_can_differ_from_utc_date() -> None:
    lt = local_time(utc(2011, 12, 31, 23, 0), None, "Asia/Tokyo", "UTC")
    assert (lt.local.date(), lt.weekday, lt.month) == (date(2012, 1, 1), "sunday", 1)


@pytest.mark.parametrize(
    ("day", "weekday", "weekend"),
    [
        (date(2011, 12, 2), "friday", False),
        (date(2011, 12, 3), "saturday", True),
        (date(2011, 12, 4), "sunday", True),
        (date(2011, 12, 5), "monday", False),
    ],
)
def test_weekend_detection(day: date, weekday: str, weekend: bool) -> None:
    lt = local_time(utc(day.year, day.month, day.day, 12), "GB", None, "UTC")
    assert (lt.weekday, lt.is_weekend) == (weekday, weekend)


def test_weekend_follows_country_calendar() -> None:
    # Saudi Arabia's weekend is Friday and Saturday.
    friday = local_time(utc(2024, 3, 1, 9), "SA", None, "UTC")
    sunday = local_time(utc(2024, 3, 3, 9), "SA", None, "UTC")
    assert (friday.weekday, friday.is_weekend) == ("friday", True)
    assert (sunday.weekday, sunday.is_weekend) == ("sunday", False)


def test_weekend_uses_local_not_utc_day() -> None:
    # Friday 23:00 UTC is already Saturday morning in Sydney.
    lt = local_time(utc(2011, 12, 2, 23), "AU", None, "UTC")
    assert (lt.weekday, lt.is_weekend) == ("saturday", True)


@pytest.mark.parametrize(
    ("month", "north", "south"),
    [
        (1, "winter", "summer"),
        (4, "spring", "autumn"),
        (7, "summer", "winter"),
        (10, "autumn", "spring"),
        (12, "winter", "summer"),
    ],
)
def test_seasons_gb_vs_au(month: int, north: str, south: str) -> None:
    now = utc(2011, month, 15, 12)
    assert local_time(now, "GB", None, "UTC").season == north
    assert local_time(now, "AU", None, "UTC").season == south
    assert season(month) == north and season(month, southern=True) == south


def test_season_latitude_beats_country() -> None:
    now = utc(2011, 7, 15, 12)
    assert local_time(now, "BR", None, "UTC").season == "winter"
    assert local_time(now, "BR", None, "UTC", latitude=2.8).season == "summer"  # Boa Vista
    assert local_time(now, None, None, "UTC", latitude=-33.9).season == "winter"
    assert local_time(now, None, None, "UTC").season == "summer"


def test_christmas_in_gb() -> None:
    lt = local_time(utc(2011, 12, 25, 12), "GB", None, "UTC")
    assert lt.holiday == "Christmas Day"


def test_second_day_of_christmas_in_de() -> None:
    lt = local_time(utc(2011, 12, 26, 12), "DE", None, "UTC")
    assert lt.timezone == "Europe/Berlin"
    assert lt.holiday == "Second Day of Christmas"
    assert "Christmas" in lt.holiday


def test_no_holiday_on_ordinary_day() -> None:
    lt = local_time(utc(2011, 12, 15, 12), "GB", None, "UTC")
    assert lt.holiday is None


def test_upcoming_holiday_mid_december() -> None:
    lt = local_time(utc(2011, 12, 15, 12), "GB", None, "UTC")
    assert lt.upcoming_holiday == "Christmas Day"
    assert next_holiday("GB", date(2011, 12, 15)) == "Christmas Day"


def test_upcoming_holiday_crosses_new_year_and_window_end() -> None:
    # 2012-01-01 was a Sunday; the holidays package lists the day itself first.
    assert next_holiday("GB", date(2011, 12, 28)) == "New Year's Day"
    assert next_holiday("GB", date(2012, 1, 1)) == "New Year's Day (observed)"
    assert next_holiday("GB", date(2011, 2, 1)) is None  # nothing in early February
    assert next_holiday("GB", date(2011, 12, 11), days=14) == "Christmas Day"
    assert next_holiday("GB", date(2011, 12, 11), days=13) is None


@pytest.mark.parametrize("country", ["ZZ", "XX", "", None, "GBR", "ÄÖ", "12"])
def test_unknown_country_has_no_holiday(country: str | None) -> None:
    lt = local_time(utc(2011, 12, 25, 12), country, None, "Europe/London")
    assert lt.holiday is None and lt.upcoming_holiday is None
    assert lt.timezone == "Europe/London"
    assert holiday_on(country, date(2011, 12, 25)) is None


def test_holiday_lookup_is_case_insensitive() -> None:
    assert holiday_on("gb", date(2011, 12, 25)) == "Christmas Day"


def test_country_timezone() -> None:
    assert country_timezone("GB", "UTC") == "Europe/London"
    assert country_timezone("jp", "UTC") == "Asia/Tokyo"
    assert country_timezone("US", "UTC") == "America/New_York"
    assert country_timezone("AU", "UTC") == "Australia/Sydney"  # not Lord Howe Island
    assert country_timezone("ZZ", "Europe/Paris") == "Europe/Paris"
    assert country_timezone(None, "UTC") == "UTC"
    assert country_timezone("", "UTC") == "UTC"


def test_timezone_precedence() -> None:
    now = utc(2011, 12, 5, 12)
    assert local_time(now, "US", "America/Los_Angeles", "UTC").timezone == "America/Los_Angeles"
    assert local_time(now, "US", None, "UTC").timezone == "America/New_York"
    assert local_time(now, None, None, "Europe/Paris").timezone == "Europe/Paris"
    assert local_time(now, "US", "Not/AZone", "UTC").timezone == "America/New_York"
    assert local_time(now, "ZZ", "Not/AZone", "Bogus/Zone").timezone == "UTC"


def test_naive_now_is_treated_as_utc() -> None:
    lt = local_time(datetime(2011, 12, 5, 9, 30), "JP", None, "UTC")
    assert lt.local.hour == 18
    assert lt.local.tzinfo is not None


def test_aware_non_utc_now_is_converted() -> None:
    now = datetime(2011, 12, 5, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert local_time(now, "GB", None, "UTC").local.hour == 9


def test_parse_override_naive_is_local() -> None:
    parsed = parse_override_time("2011-12-05T19:30", "Europe/Berlin")
    assert parsed == utc(2011, 12, 5, 18, 30)
    assert parsed.tzinfo is UTC
    assert parse_override_time("2011-07-05T19:30", "Europe/Berlin") == utc(2011, 7, 5, 17, 30)
    assert parse_override_time("2011-12-05", "Asia/Tokyo") == utc(2011, 12, 4, 15, 0)


def test_parse_override_aware_is_converted() -> None:
    assert parse_override_time("2011-12-05T19:30:00+09:00", "Europe/Berlin") == utc(
        2011, 12, 5, 10, 30
    )
    assert parse_override_time("2011-12-05T19:30Z", "Europe/Berlin") == utc(2011, 12, 5, 19, 30)


def test_parse_override_round_trip_through_local_time() -> None:
    now = parse_override_time("2011-12-25T08:00", "Europe/London")
    lt = local_time(now, "GB", None, "UTC")
    assert (lt.local.hour, lt.daypart, lt.holiday) == (8, "morning", "Christmas Day")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "yesterday",
        "2011-13-05T19:30",
        "2011-12-05T25:00",
        "19:30",
        "12/05/2011",
        "2011-12-05T19:30" + "0" * 80,
    ],
)
def test_parse_override_garbage(value: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_override_time(value, "Europe/Berlin")


def test_parse_override_bad_timezone_for_naive_value() -> None:
    with pytest.raises(ValueError, match="timezone"):
        parse_override_time("2011-12-05T19:30", "Not/AZone")
