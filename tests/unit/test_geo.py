"""GeoLocator: CDN headers, MaxMind test databases and the QA override."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storefront.signals import NO_LOCATION, GeoLocator, Location, override_location
from storefront.signals.geo import normalize_country

GEOIP_DIR = Path(__file__).resolve().parents[1] / "data" / "geoip"
CITY_DBS = ["GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"]
COUNTRY_DB = str(GEOIP_DIR / "GeoLite2-Country-Test.mmdb")
CDN_HEADERS = ["CF-IPCountry", "CloudFront-Viewer-Country", "X-Country-Code"]


@pytest.fixture(scope="module", params=CITY_DBS)
def city_locator(request: pytest.FixtureRequest) -> Iterator[GeoLocator]:
    locator = GeoLocator(CDN_HEADERS, str(GEOIP_DIR / request.param))
    assert locator.has_geoip
    yield locator
    locator.close()


@pytest.fixture(scope="module")
def country_locator() -> Iterator[GeoLocator]:
    locator = GeoLocator(CDN_HEADERS, COUNTRY_DB)
    yield locator
    locator.close()


@pytest.mark.parametrize(
    ("ip", "country", "city", "timezone"),
    [
        ("81.2.69.160", "GB", "London", "Europe/London"),
        ("2.125.160.216", "GB", "Boxford", "Europe/London"),
        ("89.160.20.112", "SE", "Linköping", "Europe/Stockholm"),
        ("216.160.83.56", "US", "Milton", "America/Los_Angeles"),
        ("175.16.199.0", "CN", "Changchun", "Asia/Harbin"),
    ],
)
def test_city_db_lookup(
    city_locator: GeoLocator, ip: str, country: str, city: str, timezone: str
) -> None:
    loc = city_locator.locate({}, ip)
    assert (loc.country, loc.city, loc.timezone, loc.source) == (country, city, timezone, "geoip")
    assert loc.latitude is not None


def test_city_db_region_and_latitude(city_locator: GeoLocator) -> None:
    loc = city_locator.locate({}, "216.160.83.56")
    assert loc.region == "WA"
    assert loc.latitude == pytest.approx(47.2513)
    assert city_locator.locate({}, "81.2.69.160").region == "ENG"


def test_ipv4_mapped_ipv6_and_whitespace(city_locator: GeoLocator) -> None:
    assert city_locator.locate({}, "::ffff:81.2.69.160").country == "GB"
    assert city_locator.locate({}, " 89.160.20.112 ").country == "SE"


def test_ipv6_lookup(city_locator: GeoLocator) -> None:
    assert city_locator.locate({}, "2001:218::1").country == "JP"


def test_country_only_db(country_locator: GeoLocator) -> None:
    loc = country_locator.locate({}, "89.160.20.112")
    assert loc == Location(country="SE", source="geoip")
    assert country_locator.locate({}, "216.160.83.56").country == "US"


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1"])
def test_unknown_ip(city_locator: GeoLocator, ip: str) -> None:
    assert city_locator.locate({}, ip) == NO_LOCATION


@pytest.mark.parametrize(
    "ip",
    [
        None,
        "",
        "garbage",
        "999.1.1.1",
        "81.2.69",
        "81.2.69.160:443",
        "<script>",
        "\x00",
        "10.0.0.1",
        "192.168.1.20",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "0.0.0.0",
    ],
)
def test_bad_or_private_ip_gives_no_location(city_locator: GeoLocator, ip: str | None) -> None:
    assert city_locator.locate({}, ip) == NO_LOCATION


def test_header_wins_over_geoip(city_locator: GeoLocator) -> None:
    loc = city_locator.locate({"CF-IPCountry": "DE"}, "81.2.69.160")
    assert loc.country == "DE"
    assert loc.source == "header"
    # GeoIP says GB, so nothing from it leaks into the German location.
    assert loc.city is None and loc.timezone is None


def test_header_same_country_is_enriched_by_geoip(city_locator: GeoLocator) -> None:
    loc = city_locator.locate({"CF-IPCountry": "US"}, "216.160.83.56")
    assert (loc.country, loc.source) == ("US", "header")
    assert (loc.city, loc.timezone, loc.region) == ("Milton", "America/Los_Angeles", "WA")


@pytest.mark.parametrize(
    "headers",
    [{"cf-ipcountry": "fr"}, {"CF-IPCOUNTRY": "FR"}, {"Cf-IpCountry": " Fr "}],
)
def test_header_lookup_is_case_insensitive(headers: dict[str, str]) -> None:
    loc = GeoLocator(CDN_HEADERS).locate(headers, None)
    assert loc == Location(country="FR", source="header")


@pytest.mark.parametrize("value", ["XX", "T1", "A1", "A2", "EU", "AP", "xx", "", "GBR", "1", "G1"])
def test_ignored_header_values_fall_through_to_geoip(city_locator: GeoLocator, value: str) -> None:
    loc = city_locator.locate({"CF-IPCountry": value}, "89.160.20.112")
    assert (loc.country, loc.source) == ("SE", "geoip")


def test_ignored_header_without_geoip_is_none() -> None:
    assert GeoLocator(CDN_HEADERS).locate({"CF-IPCountry": "T1"}, "81.2.69.160") == NO_LOCATION


def test_header_order_follows_configuration() -> None:
    headers = {"X-Country-Code": "IT", "CloudFront-Viewer-Country": "ES"}
    assert GeoLocator(CDN_HEADERS).locate(headers, None).country == "ES"
    assert GeoLocator(["X-Country-Code", "CF-IPCountry"]).locate(headers, None).country == "IT"
    # A header that is not configured is never trusted.
    assert GeoLocator(["CF-IPCountry"]).locate(headers, None) == NO_LOCATION


def test_later_header_used_when_first_is_placeholder() -> None:
    headers = {"CF-IPCountry": "XX", "CloudFront-Viewer-Country": "NL"}
    assert GeoLocator(CDN_HEADERS).locate(headers, None).country == "NL"


def test_region_city_timezone_headers() -> None:
    headers = {
        "cf-ipcountry": "US",
        "CF-Region": "California",
        "CF-IPCity": "San Francisco",
        "CF-Timezone": "America/Los_Angeles",
    }
    loc = GeoLocator(CDN_HEADERS).locate(headers, None)
    assert loc == Location(
        "US", "California", "San Francisco", "America/Los_Angeles", None, "header"
    )


def test_cloudfront_headers() -> None:
    headers = {
        "CloudFront-Viewer-Country": "GB",
        "CloudFront-Viewer-Country-Region": "ENG",
        "CloudFront-Viewer-City": "Manchester",
        "CloudFront-Viewer-Time-Zone": "Europe/London",
    }
    loc = GeoLocator(CDN_HEADERS).locate(headers, None)
    assert (loc.country, loc.region, loc.city, loc.timezone) == (
        "GB",
        "ENG",
        "Manchester",
        "Europe/London",
    )


def test_bad_timezone_header_is_dropped() -> None:
    headers = {"CF-IPCountry": "GB", "CF-Timezone": "Mars/Olympus_Mons"}
    assert GeoLocator(CDN_HEADERS).locate(headers, None).timezone is None
    headers["CF-Timezone"] = "../../etc/passwd"
    assert GeoLocator(CDN_HEADERS).locate(headers, None).timezone is None


def test_no_database_configured() -> None:
    locator = GeoLocator(CDN_HEADERS)
    assert not locator.has_geoip
    assert locator.locate({}, "81.2.69.160") == NO_LOCATION
    assert locator.locate({}, "81.2.69.160").source == "none"


def test_missing_database_file_is_tolerated(tmp_path: Path) -> None:
    locator = GeoLocator(CDN_HEADERS, str(tmp_path / "nope.mmdb"))
    assert not locator.has_geoip
    assert locator.locate({"CF-IPCountry": "GB"}, "81.2.69.160").country == "GB"


def test_corrupt_database_file_is_tolerated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a maxmind database" * 10)
    locator = GeoLocator(CDN_HEADERS, str(bad))
    assert not locator.has_geoip
    assert locator.locate({}, "81.2.69.160") == NO_LOCATION


def test_closed_locator_stops_using_geoip() -> None:
    locator = GeoLocator(CDN_HEADERS, COUNTRY_DB)
    assert locator.locate({}, "81.2.69.160").country == "GB"
    locator.close()
    locator.close()  # idempotent
    assert locator.locate({}, "81.2.69.160") == NO_LOCATION


def test_empty_location_shape() -> None:
    assert NO_LOCATION == Location(None, None, None, None, None, "none")
    with pytest.raises(AttributeError):
        NO_LOCATION.country = "GB"  # type: ignore[misc]


def test_override_location() -> None:
    assert override_location("se") == Location(country="SE", source="override")
    assert override_location(" GB ").country == "GB"


@pytest.mark.parametrize("bad", ["", "G", "GBR", "12", "G1", "  ", "ÄÖ"])
def test_override_location_rejects_bad_codes(bad: str) -> None:
    with pytest.raises(ValueError, match="country"):
        override_location(bad)


def test_normalize_country() -> None:
    assert normalize_country(" gb ") == "GB"
    assert normalize_country("XX") is None
    assert normalize_country(None) is None
    assert normalize_country("ÄÖ") is None
