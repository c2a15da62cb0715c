"""Classify a request's device: a coarse class and the operating system, from the client
hints where the browser sends them (they win) and the User-Agent.

Built on ua-parser's device/OS/browser families, plus a few token heuristics for
the cases the parser leaves vague (generic Android, feature phones, bots it misses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ua_parser import parse

from storefront.core.lookup import header

MOBILE = "mobile"
TABLET = "tablet"
DESKTOP = "desktop"
BOT = "bot"
DEVICE_CLASSES = (MOBILE, TABLET, DESKTOP, BOT)

# "bot" anywhere except in the phone brand "Cubot"; plus common crawler/HTTP-client tokens.
_BOT_RE = re.compile(
    r"(?<!cu)bot|crawl|spider|slurp|curl/|python-requests|python-urllib|wget|"
    r"headlesschrome|scrapy|httpclient|go-http-client|facebookexternalhit",
    re.IGNORECASE,
)
_BOT_UA_FAMILIES = frozenset(
    {
        "googlebot",
        "bingbot",
        "yandexbot",
        "baiduspider",
        "duckduckbot",
        "applebot",
        "python requests",
        "curl",
        "wget",
        "python-urllib",
        "go-http-client",
    }
)

# Big-screen and immersive devices (TVs, consoles, VR headsets) count as desktop.
_BIG_SCREEN_RE = re.compile(
    r"smart-?tv|googletv|android ?tv|\btv\b|hbbtv|netcast|inettv|crkey|chromecast|web0s|"
    r"appletv|roku|\baft[bmst]|playstation|xbox|nintendo|viera|bravia|oculus|\bquest\b|\bvr\b",
    re.IGNORECASE,
)
# Handheld consoles are phone-sized screens.
_HANDHELD_RE = re.compile(r"playstation vita|playstation portable|\bpsp\b|nintendo 3?ds", re.I)
_SURFACE_RE = re.compile(r"surface", re.IGNORECASE)

_TABLET_UA_RE = re.compile(
    r"ipad|kindle|silk/|playbook|\btablet\b|nexus (?:7|9|10)\b|"
    r"\b(?:sm-[tpx]\d|gt-p\d|gt-n[58]\d|shw-m[34]\d\d|sch-i(?:800|9[012]\d))",
    re.IGNORECASE,
)
_TABLET_MODEL_RE = re.compile(
    r"\btab|tab\b|tablet|\bpad\b|ipad|mediapad|mi ?pad|kindle|xoom|transformer|"
    r"nexus (?:7|9|10)\b|^(?:sm-[tpx]\d|gt-p\d)",
    re.IGNORECASE,
)
_PHONE_UA_RE = re.compile(
    r"iphone|ipod|windows[ _]phone|\bwp[78]\b|windows ce|iemobile|kaios|opera mini|opera mobi|"
    r"\bmobi|midp|cldc|up\.browser|\bwap\b|symbian|series ?[46]0|blackberry|\bbb10\b|"
    r"\bbrew\b|j2me|netfront|obigo|profile/|fennec|minimo|palmos|webos.*pre|"
    r"watchos|wear ?os|\bwatch\b|android.*\bphone\b|"
    r"\b(?:sm-[gnajsfmeu]\d|gt-[isbce]\d|sgh-|sch-|sph-)",
    re.IGNORECASE,
)
_PHONE_OS = frozenset(
    {
        "ios",
        "windows phone",
        "windows mobile",
        "symbian os",
        "symbian^3",
        "blackberry os",
        "kaios",
        "firefox os",
        "watchos",
        "bada",
        "meego",
        "maemo",
        "series40",
        "series60",
        "tizen",
        "webos",
        "sailfish",
        "ubuntu touch",
        "java me",
    }
)
_DESKTOP_OS = frozenset(
    {
        "windows",
        "mac os x",
        "linux",
        "ubuntu",
        "chrome os",
        "fedora",
        "debian",
        "freebsd",
        "openbsd",
        "netbsd",
        "solaris",
        "mac os",
        "macos",
        "red hat",
        "suse",
        "gentoo",
    }
)


def _family(part: Any) -> str:
    """Lower-cased family name of a ua-parser result part, '' when missing."""
    return (getattr(part, "family", None) or "").lower()


def _is_bot(ua: str, result: Any) -> bool:
    device = getattr(result, "device", None)
    if device is not None and device.family == "Spider":
        return True
    if _family(getattr(result, "user_agent", None)) in _BOT_UA_FAMILIES:
        return True
    return _BOT_RE.search(ua) is not None


def _is_tablet(ua: str, device_text: str) -> bool:
    if _SURFACE_RE.search(ua) or _SURFACE_RE.search(device_text):
        return False
    if _TABLET_MODEL_RE.search(device_text):
        return True
    if "windows nt" in ua.lower():
        # Desktop IE often advertises "Tablet PC 2.0"; Windows tablets are desktops here.
        return False
    return _TABLET_UA_RE.search(ua) is not None


# ua-parser device families that settle the question on their own.
_FAMILY_CLASS = {
    "iphone": MOBILE,
    "ipod": MOBILE,
    "apple watch": MOBILE,
    "generic feature phone": MOBILE,
    "generic smartphone": MOBILE,
    "ipad": TABLET,
    "generic tablet": TABLET,
}


@lru_cache(maxsize=4096)
def device_class(user_agent: str | None) -> str:
    """Return "mobile", "tablet", "desktop" or "bot" for a User-Agent string.

    Lets pages adapt layout and assortment per device; empty or unknown UAs count as desktop.
    Cached because ua-parser is comparatively slow and real traffic repeats UAs a lot.
    """
    ua = (user_agent or "").strip()
    if not ua:
        return DESKTOP
    result = parse(ua)
    if _is_bot(ua, result):
        return BOT
    device = getattr(result, "device", None)
    device_family = _family(device)
    os_family = _family(getattr(result, "os", None))
    device_text = " ".join(
        p for p in (getattr(device, "family", None), getattr(device, "model", None)) if p
    )
    if device_family in {"other", "mac"}:
        device_text = ""
    lowered = ua.lower()
    if device_family in _FAMILY_CLASS:
        return _FAMILY_CLASS[device_family]
    if _HANDHELD_RE.search(ua):
        return MOBILE
    if _BIG_SCREEN_RE.search(ua) or _BIG_SCREEN_RE.search(device_text):
        return DESKTOP
    if _is_tablet(ua, device_text):
        return TABLET
    if _PHONE_UA_RE.search(ua) or os_family in _PHONE_OS:
        return MOBILE
    if "android" in lowered and "mozilla/" in lowered:
        # A browser on Android without a "Mobile" token is, by Google's convention, a tablet.
        return TABLET
    if os_family in _DESKTOP_OS or os_family.startswith(("windows", "mac")):
        return DESKTOP
    if device_text or os_family == "android":
        # A named handset (feature phone, in-app UA) with no desktop OS: assume a phone.
        return MOBILE
    return DESKTOP


# ---- client hints and the operating system ---------------------------------------------------

# What the shop asks browsers for (Accept-CH on every shop page); Chromium sends the first two
# on every request anyway (low entropy), the model only once asked.
CLIENT_HINTS = ("Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Sec-CH-UA-Model")
OPERATING_SYSTEMS = ("android", "ios", "windows", "macos", "linux", "chromeos", "other", "unknown")
# Sec-CH-UA-Platform's values (the spec's list) -> ours
_PLATFORMS = {
    "android": "android",
    "ios": "ios",
    "windows": "windows",
    "macos": "macos",
    "linux": "linux",
    "chrome os": "chromeos",
    "chromium os": "chromeos",
}


_OS_NAMES = {
    "android": "Android",
    "ios": "iOS",
    "windows": "Windows",
    "macos": "macOS",
    "linux": "Linux",
    "chromeos": "ChromeOS",
    "other": "other",
    "unknown": "unknown",
}


def os_name(os: str) -> str:
    """An operating system as people write it (iOS, macOS)."""
    return _OS_NAMES.get(os, os)


@dataclass(frozen=True)
class Device:
    """What a request says about its device: class, operating system, model (hints only)."""

    kind: str  # mobile | tablet | desktop | bot
    os: str  # one of OPERATING_SYSTEMS but "unknown"
    model: str | None = None
    hinted: bool = False  # a client hint decided something


def _os_of(family: str) -> str:
    """ua-parser's OS family as one of OPERATING_SYSTEMS."""
    f = family.lower()
    if f in ("ios", "ipados"):
        return "ios"
    if f.startswith("android"):
        return "android"
    if f.startswith("windows"):
        return "windows"
    if f.startswith("mac"):
        return "macos"
    if f in ("chrome os", "chromium os"):
        return "chromeos"
    if f in _DESKTOP_OS or f in ("linux",):
        return "linux" if f not in ("freebsd", "openbsd", "netbsd", "solaris") else "other"
    return "other"


def _sf_string(value: str | None) -> str | None:
    """A structured-field string header value ("Android") without its quotes; None if empty."""
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    value = value.strip()[:64]
    return value or None


def _sf_boolean(value: str | None) -> bool | None:
    value = (value or "").strip()
    return {"?1": True, "?0": False}.get(value)


@lru_cache(maxsize=4096)
def _read(ua: str, mobile: bool | None, platform: str | None, model: str | None) -> Device:
    kind = device_class(ua)
    parsed_os = _os_of(_family(getattr(parse(ua), "os", None))) if ua else "other"
    os_name = _PLATFORMS.get((platform or "").lower(), parsed_os)
    hinted = mobile is not None or (platform or "").lower() in _PLATFORMS or model is not None
    if kind == BOT:  # hints never make a crawler a shopper
        return Device(BOT, os_name, model, hinted)
    tablet_model = model is not None and _TABLET_MODEL_RE.search(model) is not None
    if mobile is True:
        kind = MOBILE
    elif mobile is False:
        kind = TABLET if kind == TABLET or tablet_model else DESKTOP
    elif tablet_model:
        kind = TABLET
    return Device(kind, os_name, model, hinted)


def read_device(headers: Mapping[str, str]) -> Device:
    """The device from a request's headers: the client hints (Sec-CH-UA-Mobile, -Platform,
    -Model) where the browser sent them, which win over the User-Agent's parse; the
    User-Agent for the rest (and for crawlers, which hints never unmake)."""
    return _read(
        (header(headers, "User-Agent") or "").strip(),
        _sf_boolean(header(headers, "Sec-CH-UA-Mobile")),
        _sf_string(header(headers, "Sec-CH-UA-Platform")),
        _sf_string(header(headers, "Sec-CH-UA-Model")),
    )
