"""Work out where a request comes from: CDN geo headers first, then a MaxMind database.

Everything here is best effort: bad headers, unknown or private IPs and missing databases
all degrade to an empty ``Location`` instead of raising.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import maxminddb

from storefront.core.lookup import environ_name

log = logging.getLogger(__name__)

# CDN pseudo-codes: unknown (XX), Tor (T1), anonymous proxy (A1), satellite (A2),
# and continent-level answers (EU, AP) that name no country.
IGNORED_COUNTRIES = frozenset({"XX", "T1", "A1", "A2", "EU", "AP"})
# Codes (as GeoIP gives them) before free-text names.
REGION_HEADERS = ("CF-Region-Code", "CloudFront-Viewer-Country-Region", "CF-Region", "X-Region")
CITY_HEADERS = ("CF-IPCity", "CloudFront-Viewer-City", "X-City")
TIMEZONE_HEADERS = ("CF-Timezone", "CloudFront-Viewer-Time-Zone")
LATITUDE_HEADERS = ("CF-IPLatitude", "CloudFront-Viewer-Latitude")

_COUNTRY_RE = re.compile(r"[A-Za-z]{2}")
_MAX_TEXT = 100  # longest region/city value we keep from a header
# locations remembered per worker, by the header values and address they were read from: real
# traffic repeats a few CDN header sets per address (bounded; LRU)
LOCATED_MAX = 4096
MEMO_TEXT_MAX = 1024  # header text beyond this is not kept (bounds the memo's memory too)


@dataclass(frozen=True)
class Location:
    """Best guess of where the visitor is; every field may be unknown (None)."""

    country: str | None = None  # ISO 3166-1 alpha-2, upper case
    region: str | None = None
    city: str | None = None
    timezone: str | None = None  # IANA name
    latitude: float | None = None
    source: str = "none"  # "header" | "geoip" | "override" | "none"


NO_LOCATION = Location()


def normalize_country(value: str | None) -> str | None:
    """Return an upper-case two-letter country code, or None for junk and CDN pseudo-codes.

    CDNs send placeholders such as "XX" (unknown) or "T1" (Tor) that must not pick a market.
    """
    if value is None:
        return None
    code = value.strip()
    if not _COUNTRY_RE.fullmatch(code):
        return None
    code = code.upper()
    return None if code in IGNORED_COUNTRIES else code


def override_location(country: str) -> Location:
    """Build a Location for a QA/preview override of the visitor's country.

    Raises ValueError naming "country" unless given a two-letter code.
    """
    code = (country or "").strip()
    if not _COUNTRY_RE.fullmatch(code):
        raise ValueError(f"country must be a two-letter ISO 3166-1 code, got {country!r}")
    return Location(country=code.upper(), source="override")


def _valid_timezone(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if value and len(value) <= _MAX_TEXT else None


def _latitude(value: Any) -> float | None:
    try:
        lat = float(value)
    except (TypeError, ValueError):
        return None
    return lat if math.isfinite(lat) and -90.0 <= lat <= 90.0 else None


def _first(lowered: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = lowered.get(name.lower())
        if value is not None and value.strip():
            return value
    return None


def _public_ip(remote_addr: str | None) -> str | None:
    """Return the address as a string if it is a well-formed, globally routable IP."""
    if not remote_addr:
        return None
    try:
        ip = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip) if ip.is_global else None


class GeoLocator:
    """Locates requests from CDN headers, falling back to an optional MaxMind database."""

    def __init__(self, headers: Sequence[str], geoip_path: str | None = None) -> None:
        """Remember the country headers to trust (in order) and open the GeoIP DB once.

        A missing or corrupt database is logged and ignored so the shop still serves.
        """
        if isinstance(headers, str):
            headers = (headers,)
        self.headers: tuple[str, ...] = tuple(headers)
        self.geoip_path = geoip_path
        self._reader: Any = None
        # every header the answer is read from, lower-cased (order kept, repeats dropped), and
        # their WSGI environ keys; the answer is a pure function of their values, the address
        # and the database, so it is remembered by them (the memo is emptied on close())
        self._names = tuple(
            dict.fromkeys(
                n.lower()
                for n in (
                    *self.headers,
                    *REGION_HEADERS,
                    *CITY_HEADERS,
                    *TIMEZONE_HEADERS,
                    *LATITUDE_HEADERS,
                )
            )
        )
        self._environ = tuple(environ_name(n) for n in self._names)
        self._located = lru_cache(maxsize=LOCATED_MAX)(self._locate)
        if geoip_path:
            try:
                self._reader = maxminddb.open_database(geoip_path)
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                log.warning("GeoIP database %s unavailable: %s", geoip_path, exc)

    @property
    def has_geoip(self) -> bool:
        """True when a MaxMind database is open and will be consulted."""
        return self._reader is not None

    def close(self) -> None:
        """Close the MaxMind database (lookups then fall back to headers only)."""
        reader, self._reader = self._reader, None
        self._located.cache_clear()
        if reader is not None:
            reader.close()

    def locate(self, headers: Mapping[str, str], remote_addr: str | None) -> Location:
        """Return the visitor's Location: CDN headers win, then GeoIP, else an empty one.

        Header names are matched case-insensitively; never raises on bad input. Remembered
        per worker by the values of the headers it reads and the address (LOCATED_MAX).
        """
        environ = getattr(headers, "environ", None)  # a request's headers: read the environ
        if environ is not None:
            values = tuple(map(environ.get, self._environ))  # no generator frame per name
        else:
            lowered = {str(k).lower(): str(v) for k, v in headers.items()}
            values = tuple(lowered.get(name) for name in self._names)
        if sum(map(len, filter(None, values))) > MEMO_TEXT_MAX:  # a client's long headers:
            return self._locate(values, remote_addr)  # answered, never kept
        return self._located(values, remote_addr)

    def _locate(self, values: tuple[str | None, ...], remote_addr: str | None) -> Location:
        lowered = {n: str(v) for n, v in zip(self._names, values, strict=True) if v is not None}
        geo: Location | None = None
        for name in self.headers:
            country = normalize_country(lowered.get(name.lower()))
            if country is None:
                continue
            found = Location(
                country=country,
                region=_text(_first(lowered, REGION_HEADERS)),
                city=_text(_first(lowered, CITY_HEADERS)),
                timezone=_valid_timezone(_first(lowered, TIMEZONE_HEADERS)),
                latitude=_latitude(_first(lowered, LATITUDE_HEADERS)),
                source="header",
            )
            geo = self.lookup_ip(remote_addr)
            if geo is not None and geo.country == country:
                # Same country: let the database fill in what the CDN left out.
                found = replace(
                    found,
                    region=found.region or geo.region,
                    city=found.city or geo.city,
                    timezone=found.timezone or geo.timezone,
                    latitude=found.latitude if found.latitude is not None else geo.latitude,
                )
            return found
        geo = self.lookup_ip(remote_addr)
        return geo if geo is not None else NO_LOCATION

    def lookup_ip(self, remote_addr: str | None) -> Location | None:
        """Look an IP up in the MaxMind database; None when unknown, private or malformed."""
        reader = self._reader
        if reader is None:  # no database configured: nothing to parse the address for
            return None
        ip = _public_ip(remote_addr)
        if ip is None:
            return None
        try:
            record = reader.get(ip)
        except (ValueError, OSError, maxminddb.InvalidDatabaseError) as exc:
            log.debug("GeoIP lookup failed for %s: %s", ip, exc)
            return None
        if not isinstance(record, Mapping):
            return None
        return _from_record(record)


def _from_record(record: Mapping[str, Any]) -> Location | None:
    country_rec = record.get("country") or {}
    country = normalize_country(country_rec.get("iso_code"))
    if country is None:
        return None
    subdivisions = record.get("subdivisions") or []
    region = subdivisions[0].get("iso_code") if subdivisions else None
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    location = record.get("location") or {}
    return Location(
        country=country,
        region=_text(region),
        city=_text(city),
        timezone=_valid_timezone(location.get("time_zone")),
        latitude=_latitude(location.get("latitude")),
        source="geoip",
    )
