"""Client hints win over the User-Agent's parse (signals/device.read_device), and the
operating system is a fact rules can test."""

from __future__ import annotations

import pytest

from storefront.rules.facts import DIMS
from storefront.rules.schema import Condition
from storefront.signals.device import read_device

DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
# Chrome's reduced User-Agent on Android: the model is always "K", the hints tell the rest
ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("headers", "kind", "os"),
    [
        ({"User-Agent": DESKTOP_CHROME}, "desktop", "windows"),
        ({"User-Agent": IPHONE}, "mobile", "ios"),
        # no Mobile token: by the User-Agent a tablet; the hint says it is a phone
        ({"User-Agent": ANDROID_REDUCED}, "tablet", "android"),
        (
            {
                "User-Agent": ANDROID_REDUCED,
                "Sec-CH-UA-Mobile": "?1",
                "Sec-CH-UA-Platform": '"Android"',
                "Sec-CH-UA-Model": '"Pixel 7"',
            },
            "mobile",
            "android",
        ),
        (
            {
                "User-Agent": ANDROID_REDUCED,
                "Sec-CH-UA-Mobile": "?0",
                "Sec-CH-UA-Platform": '"Android"',
                "Sec-CH-UA-Model": '"SM-X700"',
            },
            "tablet",
            "android",
        ),
        # "request desktop site" on a phone, or a desktop that says so: desktop
        (
            {"User-Agent": IPHONE, "Sec-CH-UA-Mobile": "?0", "Sec-CH-UA-Platform": '"macOS"'},
            "desktop",
            "macos",
        ),
        (
            {"User-Agent": DESKTOP_CHROME, "Sec-CH-UA-Platform": '"Chrome OS"'},
            "desktop",
            "chromeos",
        ),
        # unknown or malformed hints change nothing
        (
            {
                "User-Agent": DESKTOP_CHROME,
                "Sec-CH-UA-Mobile": "yes",
                "Sec-CH-UA-Platform": '"Plan 9"',
                "Sec-CH-UA-Model": '""',
            },
            "desktop",
            "windows",
        ),
        # a crawler stays a crawler, whatever it claims
        (
            {
                "User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)",
                "Sec-CH-UA-Mobile": "?1",
            },
            "bot",
            "other",
        ),
        ({}, "desktop", "other"),
    ],
)
def test_hints_win_over_the_user_agent(headers, kind, os):
    seen = read_device(headers)
    assert (seen.kind, seen.os) == (kind, os)


def test_the_operating_system_is_a_rule_condition():
    assert "os" in DIMS
    assert Condition.model_validate({"os": "iOS"}).os == ("ios",)
    with pytest.raises(ValueError, match="os"):
        Condition.model_validate({"os": "beos"})
