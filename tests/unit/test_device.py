"""device_class() against hand-picked real UAs and ua-parser's own device corpus."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from storefront.signals import DEVICE_CLASSES, device_class

CORPUS = Path(__file__).resolve().parents[1] / "data" / "useragents" / "test_device.yaml"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CHROME_WIN10 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
EDGE_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67"
)
IE11_TABLET_PC = (
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; Tablet PC 2.0; rv:11.0) like Gecko"
)
CHROME_OS = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.113 Mobile Safari/537.36"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
NEXUS_7 = (
    "Mozilla/5.0 (Linux; Android 4.4.2; Nexus 7 Build/KOT49H) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/31.0.1650.59 Safari/537.36"
)
KINDLE_SILK = (
    "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/124.2.3 like Chrome/124.0.6367.118 Safari/537.36"
)
WINDOWS_PHONE = (
    "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; "
    "IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like "
    "Gecko) Mobile Safari/537"
)
KAIOS = "Mozilla/5.0 (Mobile; Nokia_8110_4G; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5"
OPERA_MINI = "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en)"
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 4.2.2; CUBOT C11 Build/JDQ39) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/31.0.1650.57 Mobile Safari/537.36"
)
SMART_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/538.1 (KHTML, like Gecko) "
    "Version/6.0 TV Safari/538.1"
)


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as fh:
        cases = yaml.load(fh, Loader=Loader)["test_cases"]
    assert len(cases) > 10_000
    return cases


def _classify(cases: list[dict[str, Any]]) -> Counter[str]:
    return Counter(device_class(c["user_agent_string"]) for c in cases)


def _share(counts: Counter[str], wanted: str) -> float:
    total = sum(counts.values())
    assert total > 0, "selection matched no corpus cases"
    return counts[wanted] / total


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WIN10, "desktop"),
        (FIREFOX_LINUX, "desktop"),
        (FIREFOX_UBUNTU, "desktop"),
        (SAFARI_MAC, "desktop"),
        (EDGE_WIN, "desktop"),
        (IE11_TABLET_PC, "desktop"),
        (CHROME_OS, "desktop"),
        (SMART_TV, "desktop"),
        (GOOGLEBOT, "bot"),
        (GOOGLEBOT_SMARTPHONE, "bot"),
        (BINGBOT, "bot"),
        ("curl/8.4.0", "bot"),
        ("python-requests/2.31.0", "bot"),
        ("Wget/1.21.4", "bot"),
        (
            "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
            "bot",
        ),
        (IPHONE, "mobile"),
        (PIXEL, "mobile"),
        (WINDOWS_PHONE, "mobile"),
        (KAIOS, "mobile"),
        (OPERA_MINI, "mobile"),
        (CUBOT_PHONE, "mobile"),
        (IPAD, "tablet"),
        (GALAXY_TAB, "tablet"),
        (NEXUS_7, "tablet"),
        (KINDLE_SILK, "tablet"),
        ("", "desktop"),
        ("   ", "desktop"),
        (None, "desktop"),
    ],
)
def test_hand_picked(ua: str | None, expected: str) -> None:
    assert device_class(ua) == expected


def test_android_without_mobile_token_is_tablet() -> None:
    assert device_class(PIXEL) == "mobile"
    assert device_class(PIXEL.replace(" Mobile Safari", " Safari")) == "tablet"


def test_unknown_garbage_is_desktop_and_always_a_known_class() -> None:
    assert device_class("Mozilla/5.0") == "desktop"
    assert device_class("\x00\xff weird ;;; ()") in DEVICE_CLASSES


def test_results_are_cached() -> None:
    device_class.cache_clear()
    device_class(SAFARI_MAC)
    device_class(SAFARI_MAC)
    info = device_class.cache_info()
    assert info.hits >= 1 and info.maxsize == 4096


def test_corpus_every_result_is_a_known_class(corpus: list[dict[str, Any]]) -> None:
    counts = _classify(corpus[::10])
    assert set(counts) <= set(DEVICE_CLASSES)
    # The corpus is overwhelmingly handsets; desktop should stay a small minority.
    assert _share(counts, "mobile") > 0.7
    assert _share(counts, "desktop") < 0.05


@pytest.mark.parametrize(
    ("family", "expected", "threshold"),
    [
        ("iPhone", "mobile", 0.98),
        ("iPod", "mobile", 0.98),
        ("Apple Watch", "mobile", 1.0),
        ("Generic Feature Phone", "mobile", 1.0),
        ("iPad", "tablet", 0.98),
        ("Spider", "bot", 1.0),
    ],
)
def test_corpus_by_device_family(
    corpus: list[dict[str, Any]], family: str, expected: str, threshold: float
) -> None:
    counts = _classify([c for c in corpus if c["family"] == family])
    assert _share(counts, expected) >= threshold, counts


def test_corpus_kindles_are_tablets(corpus: list[dict[str, Any]]) -> None:
    counts = _classify([c for c in corpus if c["family"].startswith("Kindle")])
    assert _share(counts, "tablet") >= 0.95, counts


def test_corpus_samsung_galaxy_tabs_are_tablets(corpus: list[dict[str, Any]]) -> None:
    tabs = [c for c in corpus if (c["model"] or "").upper().startswith(("SM-T", "GT-P"))]
    assert len(tabs) >= 50
    counts = _classify(tabs)
    assert _share(counts, "tablet") >= 0.95, counts


def test_corpus_samsung_galaxy_phones_are_mobile(corpus: list[dict[str, Any]]) -> None:
    phones = [
        c
        for c in corpus
        if (c["model"] or "").upper().startswith("SM-G") and "Mobile" in c["user_agent_string"]
    ]
    assert len(phones) >= 30
    counts = _classify(phones)
    assert _share(counts, "mobile") >= 0.98, counts


def test_corpus_family_names_tablet_are_tablets(corpus: list[dict[str, Any]]) -> None:
    tablets = [c for c in corpus if re.search(r"\bTab\b|Tablet|\bPad\b", c["family"], re.I)]
    assert len(tablets) >= 50
    assert _share(_classify(tablets), "tablet") >= 0.95


def test_corpus_android_mobile_browsers_are_mobile(corpus: list[dict[str, Any]]) -> None:
    phones = [
        c
        for c in corpus
        if re.search(r"Android.*Mobile Safari", c["user_agent_string"])
        and not re.search(r"tab|pad|kindle|SM-T|GT-P", c["family"], re.I)
        and c["family"] != "Spider"
    ][::5]
    assert len(phones) >= 500
    assert _share(_classify(phones), "mobile") >= 0.97


def test_corpus_smart_tvs_are_not_handhelds(corpus: list[dict[str, Any]]) -> None:
    tvs = [c for c in corpus if c["family"] in {"HbbTV", "NetCast.TV", "Inettv"}]
    assert len(tvs) >= 50
    assert _share(_classify(tvs), "desktop") >= 0.95


def test_corpus_crawler_tokens_outside_spider_family(corpus: list[dict[str, Any]]) -> None:
    # "Cubot" is a phone brand, not a bot; nothing else in the corpus should trip the bot rule.
    cubots = [c for c in corpus if "cubot" in c["user_agent_string"].lower()]
    assert cubots
    assert all(device_class(c["user_agent_string"]) != "bot" for c in cubots)
    non_spider_bots = [
        c
        for c in corpus
        if c["family"] != "Spider" and device_class(c["user_agent_string"]) == "bot"
    ]
    assert len(non_spider_bots) <= 5
