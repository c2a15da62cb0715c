"""Country names <-> ISO 3166-1 alpha-2 codes, for order data and for display.

Order exports name countries in free English ("United Kingdom", "EIRE", "RSA", "USA"); the
store keeps two-letter codes so they compare with what GeoIP and CDN headers say about a visitor.
Standard names come from pytz's table (reversed); the aliases below cover the spellings real
exports use. Pseudo-countries ("European Community", "Unspecified") map to None: unknown.
"""

from __future__ import annotations

import re

import pytz

# Display names where pytz's wording is not what a shopper expects to read.
_DISPLAY_OVERRIDES: dict[str, str] = {
    "GB": "United Kingdom",
    "US": "United States",
    "KR": "South Korea",
    "KP": "North Korea",
    "CD": "DR Congo",
    "CG": "Congo",
    "MM": "Myanmar",
    "SZ": "Eswatini",
    "AS": "American Samoa",
    "WS": "Samoa",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
    "TC": "Turks and Caicos Islands",
    "MF": "Saint Martin",
    "SX": "Sint Maarten",
}

# Spellings seen in exports that are not pytz's names. None: deliberately "no country".
_ALIASES: dict[str, str | None] = {
    "eire": "IE",
    "ireland": "IE",
    "republic of ireland": "IE",
    "rsa": "ZA",
    "usa": "US",
    "us": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "channel islands": "JE",
    "czech republic": "CZ",
    "czechia": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "russian federation": "RU",
    "uae": "AE",
    "turkiye": "TR",
    "türkiye": "TR",
    "vietnam": "VN",
    "viet nam": "VN",
    "swaziland": "SZ",
    "burma": "MM",
    "european community": None,
    "european union": None,
    "eu": None,
    "unspecified": None,
    "unknown": None,
    "n/a": None,
    "none": None,
    "other": None,
}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).lower()


def _build_name_table() -> dict[str, str | None]:
    table: dict[str, str | None] = {}
    for code, name in pytz.country_names.items():
        code = code.upper()
        table[_norm(name)] = code
        table[_norm(name.replace("&", "and"))] = code
        # "Korea (South)" -> also "korea south"; "Myanmar (Burma)" -> also "myanmar".
        bare = re.sub(r"\s*\(.*?\)", "", name)
        table.setdefault(_norm(bare), code)
    for code, name in _DISPLAY_OVERRIDES.items():
        table[_norm(name)] = code
    table.update(_ALIASES)
    return table


_BY_NAME = _build_name_table()
_CODES = frozenset(code.upper() for code in pytz.country_names)


def country_code(name_or_code: str | None) -> str | None:
    """The ISO alpha-2 code for a country name or code, or None when unknown.

    Accepts English names in any case ("Germany", "EIRE", "USA") and values that are already
    two-letter codes ("de", "GB"). Unknown or pseudo-countries give None, never an exception:
    a row with an odd country is still a good order line.
    """
    if name_or_code is None:
        return None
    text = _norm(str(name_or_code))
    if not text:
        return None
    if text in _BY_NAME:
        return _BY_NAME[text]
    if len(text) == 2 and text.upper() in _CODES:
        return text.upper()
    return None


def country_name(code: str | None) -> str | None:
    """The English display name for a two-letter code ("GB" -> "United Kingdom"), or None."""
    if not code:
        return None
    upper = str(code).strip().upper()
    if upper in _DISPLAY_OVERRIDES:
        return _DISPLAY_OVERRIDES[upper]
    return pytz.country_names.get(upper)
