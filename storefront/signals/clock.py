"""The visitor's local time and calendar context: daypart, weekend, season and holidays.

Pure functions of an explicit UTC instant, so tests and QA overrides can pin the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import pytz

UPCOMING_DAYS = 28  # shoppers prepare for a holiday weeks ahead (Christmas from early December)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday
_NORTHERN_SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
_FLIP = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
# Countries lying wholly or mostly south of the equator (used when latitude is unknown).
SOUTHERN_COUNTRIES = frozenset(
    {
        "AU",
        "NZ",
        "ZA",
        "AR",
        "CL",
        "UY",
        "PY",
        "BR",
        "BO",
        "PE",
        "NA",
        "BW",
        "ZW",
        "ZM",
        "MZ",
        "MG",
        "LS",
        "SZ",
        "MW",
        "AO",
        "MU",
        "RE",
        "FJ",
        "NC",
        "PF",
        "WS",
        "TO",
        "VU",
        "FK",
    }
)
# Where pytz's first zone is a sparsely populated edge of the country, use the main one.
PREFERRED_ZONES = MappingProxyType(
    {
        "AU": "Australia/Sydney",
        "BR": "America/Sao_Paulo",
        "CA": "America/Toronto",
        "RU": "Europe/Moscow",
        "UA": "Europe/Kyiv",
        "UZ": "Asia/Tashkent",
    }
)


@dataclass(frozen=True)
class LocalTime:
    """Calendar context of one request in the visitor's time zone."""

    local: datetime  # tz-aware, in `timezone`
    timezone: str
    daypart: str  # night | morning | afternoon | evening
    weekday: str  # lower-case English day name
    is_weekend: bool
    season: str  # winter | spring | summer | autumn (meteorological, hemisphere-aware)
    holiday: str | None
    upcoming_holiday: str | None
    month: int


@dataclass(frozen=True)
class _YearHolidays:
    days: Mapping[date, str]
    weekend: frozenset[int]


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def country_timezone(country: str | None, fallback: str) -> str:
    """Return the main IANA time zone of a country (pytz's first), else `fallback`.

    Used when a request tells us the country but not the zone; see PREFERRED_ZONES.
    """
    if not country:
        return fallback
    code = country.strip().upper()
    if code in PREFERRED_ZONES:
        return PREFERRED_ZONES[code]
    try:
        zones = pytz.country_timezones[code]
    except (KeyError, AttributeError):
        return fallback
    return zones[0] if zones else fallback


def daypart(hour: int) -> str:
    """Name the part of the day for a local hour (0-23), for time-of-day merchandising."""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def is_southern(country: str | None, latitude: float | None = None) -> bool:
    """True if the visitor is south of the equator: by latitude when known, else by country."""
    if latitude is not None:
        return latitude < 0
    return bool(country) and country.strip().upper() in SOUTHERN_COUNTRIES


def season(month: int, southern: bool = False) -> str:
    """Meteorological season for a month (1-12), flipped for the southern hemisphere."""
    name = _NORTHERN_SEASONS[month]
    return _FLIP[name] if southern else name


@lru_cache(maxsize=512)
def _year_holidays(country: str, year: int) -> _YearHolidays | None:
    """Public holidays of one country and year (English names), or None if unsupported."""
    if len(country) != 2 or not country.isalpha():
        return None
    try:
        table = holidays.country_holidays(country, years=year, language="en_US")
    except (NotImplementedError, KeyError, ValueError):
        return None
    weekend = frozenset(getattr(table, "weekend", None) or _DEFAULT_WEEKEND)
    # Copy into a read-only dict: a live HolidayBase grows itself on lookups of other years.
    return _YearHolidays(days=MappingProxyType(dict(table)), weekend=weekend)


def holiday_on(country: str | None, day: date) -> str | None:
    """Name of the public holiday on `day` in `country`, or None (also for unknown countries)."""
    if not country:
        return None
    table = _year_holidays(country.strip().upper(), day.year)
    return table.days.get(day) if table is not None else None


@lru_cache(maxsize=4096)
def next_holiday(country: str | None, day: date, days: int = UPCOMING_DAYS) -> str | None:
    """Name of the first public holiday in the `days` days after `day` (not counting `day`).
    Cached: every page asks it, and the answer only changes with the country and the day."""
    for offset in range(1, days + 1):
        name = holiday_on(country, day + timedelta(days=offset))
        if name:
            return name
    return None


def _weekend_days(country: str | None, year: int) -> frozenset[int]:
    table = _year_holidays(country.strip().upper(), year) if country else None
    return table.weekend if table is not None else _DEFAULT_WEEKEND


def _pick_zone(*names: str | None) -> tuple[str, ZoneInfo]:
    for name in names:
        zone = _zone(name)
        if zone is not None and name is not None:
            return name.strip(), zone
    return "UTC", ZoneInfo("UTC")


def local_time(
    now_utc: datetime,
    country: str | None,
    timezone: str | None,
    fallback_timezone: str,
    latitude: float | None = None,
) -> LocalTime:
    """Describe `now_utc` as the visitor experiences it (zone, daypart, season, holidays).

    Zone precedence: `timezone`, then the country's zone, then the fallback; bad names are skipped.
    """
    if now_utc.tzinfo is None:
        now_utc = now_utc.replace(tzinfo=UTC)
    tz_name, zone = _zone_for(timezone, country, fallback_timezone)
    local = now_utc.astimezone(zone)  # the clock itself: per request, never remembered
    weekday, is_weekend, season_name, holiday, upcoming = _calendar(
        country, local.date(), is_southern(country, latitude)
    )
    return LocalTime(
        local=local,
        timezone=tz_name,
        daypart=daypart(local.hour),
        weekday=weekday,
        is_weekend=is_weekend,
        season=season_name,
        holiday=holiday,
        upcoming_holiday=upcoming,
        month=local.month,
    )


@lru_cache(maxsize=1024)
def _zone_for(timezone: str | None, country: str | None, fallback: str) -> tuple[str, ZoneInfo]:
    """local_time's zone: a pure function of its three names, remembered per worker."""
    return _pick_zone(timezone, country_timezone(country, ""), fallback)


@lru_cache(maxsize=4096)
def _calendar(
    country: str | None, today: date, southern: bool
) -> tuple[str, bool, str, str | None, str | None]:
    """What the local date means in a country: weekday, weekend, season, today's holiday and
    the next one. A pure function of its arguments (holiday tables are per year and fixed),
    remembered per worker: every page of a day in a country asks the same."""
    weekday = today.weekday()
    return (
        _WEEKDAYS[weekday],
        weekday in _weekend_days(country, today.year),
        season(today.month, southern),
        holiday_on(country, today),
        next_holiday(country, today),
    )


# The clock's range: a year inside datetime's on each side, so that the instant can be shown in
# every time zone and the holiday look-ahead (UPCOMING_DAYS) never steps off the calendar.
EARLIEST = datetime(MINYEAR + 1, 1, 1, tzinfo=UTC)
LATEST = datetime(MAXYEAR - 1, 12, 31, 23, 59, 59, tzinfo=UTC)


def parse_override_time(value: str, tz: str) -> datetime:
    """Parse a QA time override (ISO 8601, e.g. "2011-12-05T19:30") into an aware UTC datetime.

    Naive values are read as local time in `tz`; raises ValueError on garbage and on instants
    outside EARLIEST..LATEST (year 1 or 9999 would overflow on the way to UTC or a local zone).
    """
    text = (value or "").strip()
    if not text or len(text) > 64:
        raise ValueError(f"time override must be an ISO 8601 date/time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"time override must be an ISO 8601 date/time, got {value!r}") from None
    if parsed.tzinfo is None:
        zone = _zone(tz)
        if zone is None:
            raise ValueError(f"time override needs a valid timezone, got {tz!r}")
        parsed = parsed.replace(tzinfo=zone)
    try:
        instant = parsed.astimezone(UTC)
    except OverflowError:
        instant = None
    if instant is None or not EARLIEST <= instant <= LATEST:
        raise ValueError(
            f"must lie between {EARLIEST.date()} and {LATEST.date()} (UTC), got {value!r}"
        )
    return instant
