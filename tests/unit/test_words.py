"""The shopper's words: plurals through Babel's CLDR rules, articles, approximate prices in the
visitor's currency (storefront/words.py), and the privacy note that never reads "None"."""

from __future__ import annotations

import pytest

from storefront import words
from storefront.config import ConfigError, load_settings
from storefront.core.context import consent
from storefront.shop.wording import privacy_note


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (0, "item", "0 items"),
        (1, "item", "1 item"),
        (2, "item", "2 items"),
        (1, "result", "1 result"),
        (1204, "result", "1,204 results"),
        (1, "category", "1 category"),
        (3, "category", "3 categories"),
    ],
)
def test_counts_take_the_plural_english_uses(n, word, expected):
    assert words.count(n, word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("editor", "an editor"),
        ("publisher", "a publisher"),
        ("admin", "an admin"),
        ("user", "a user"),
        ("hour", "an hour"),
        ("viewer", "a viewer"),
    ],
)
def test_articles_follow_the_sound(word, expected):
    assert words.article(word) == expected


RATES = {"EUR": 1.17, "USD": 1.27}


def test_an_approximate_price_is_in_the_visitors_currency_and_locale():
    assert words.approximate(10.0, "GBP", "IE", RATES) == "≈ €11.70"
    assert words.approximate(10.0, "GBP", "DE", RATES) == "≈ 11,70\xa0€"
    assert words.approximate(10.0, None, "US", RATES) == "≈ $12.70"  # no currency: pounds


def test_no_approximation_in_the_shops_currency_or_without_a_rate():
    assert words.approximate(10.0, "GBP", "GB", RATES) is None
    assert words.approximate(10.0, "EUR", "DE", RATES) is None
    assert words.approximate(10.0, "GBP", "JP", RATES) is None  # no rate for yen
    assert words.approximate(10.0, "GBP", None, RATES) is None
    assert words.approximate(10.0, "GBP", "ZZ", RATES) is None


def test_display_currencies_setting_is_parsed_and_checked(tmp_path):
    env = {"STOREFRONT_HOME": str(tmp_path), "STOREFRONT_DISPLAY_CURRENCIES": "eur:1.17, USD:1.27"}
    assert load_settings(env).display_currencies == RATES
    assert load_settings({"STOREFRONT_HOME": str(tmp_path)}).display_currencies == {}
    for bad in ("EUR", "EURO:1", "EUR:x", "EUR:0"):
        env["STOREFRONT_DISPLAY_CURRENCIES"] = bad
        with pytest.raises(ConfigError, match="STOREFRONT_DISPLAY_CURRENCIES"):
            load_settings(env)


@pytest.mark.parametrize(
    "given",
    [
        consent(prefs={"off:history": "1"}),
        consent(prefs={"off:personalization": "1"}),
        consent(gpc=True),
        consent(dnt=True),
    ],
)
def test_the_privacy_note_never_says_none(given):
    note = privacy_note(given)
    assert "None" not in note
    assert note.endswith("nothing from your history is used")
