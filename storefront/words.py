"""The words a shopper reads around numbers: counts, articles, approximate prices.

Counts go through Babel's CLDR plural rules ("1 item", "2 items", never "1 items"), in the
shop's language (English: the shop's text is English whatever the visitor's country, so the
number is grouped the English way too). An approximate price in the visitor's own currency is
formatted for the visitor's locale (the country's most likely one, e.g. DE -> de_DE: "≈ 14,44 €"),
only when the shop configured a rate for that currency (STOREFRONT_DISPLAY_CURRENCIES); amounts
that are charged (basket, checkout) stay in the shop's currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_territory_currencies,
)

SHOP_LANGUAGE = "en"
DEFAULT_CURRENCY = "GBP"  # a catalog that names none is in pounds (recommender/money.py)
# words whose plural is not the singular plus "s"
_IRREGULAR = {"category": "categories", "match": "matches", "person": "people"}
# vowel letters that sound like a consonant, and silent consonants ("an hour")
_CONSONANT_SOUND = ("eu", "one", "once", "uni", "use", "usu", "uti")
_VOWEL_SOUND = ("hour", "honest", "honour", "heir")


def plural(word: str, n: float) -> str:
    """`word` in the form English uses for `n` (CLDR plural rules, through Babel)."""
    if _locale(SHOP_LANGUAGE).plural_form(abs(n)) == "one":
        return word
    return _IRREGULAR.get(word, word + "s")


@lru_cache(maxsize=2048, typed=True)  # listings ask for the same few counts on every page
def count(n: float, word: str, plural_word: str | None = None) -> str:
    """`n` and the word in the right form: "1 item", "2 items", "1,204 results"."""
    one = _locale(SHOP_LANGUAGE).plural_form(abs(n)) == "one"
    shown = word if one else (plural_word or plural(word, n))
    return f"{format_decimal(n, locale=SHOP_LANGUAGE)} {shown}"


def percent(share: float) -> str:
    """A share as the shop's language writes it: 0.05 -> "5%", 0.125 -> "12.5%"."""
    return format_percent(share, format="#,##0.#%", locale=SHOP_LANGUAGE)


def day(when: date) -> str:
    """A date as the shop's language writes it in a sentence: "14 January 2027" (Babel)."""
    return format_date(when, format="long", locale=SHOP_LANGUAGE)


def article(word: str) -> str:
    """The word with "a" or "an" before it, by how it sounds: "an editor", "a publisher"."""
    w = word.strip().lower()
    if not w:
        return word
    vowel = w[0] in "aeiou" and not w.startswith(_CONSONANT_SOUND)
    if w.startswith(_VOWEL_SOUND):
        vowel = True
    return ("an " if vowel else "a ") + word


@lru_cache(maxsize=64)
def _locale(tag: str) -> Locale:
    return Locale.parse(tag)


@lru_cache(maxsize=512)
def locale_of(country: str | None) -> Locale:
    """The most likely locale of a country (CLDR likely subtags): DE -> de_DE, IE -> en_IE;
    unknown or none: the shop's language."""
    if country:
        try:
            return Locale.parse(f"und_{country.upper()}")
        except (UnknownLocaleError, ValueError):
            pass
    return _locale(SHOP_LANGUAGE)


@lru_cache(maxsize=512)
def currency_of(country: str | None) -> str | None:
    """The currency a country uses today (Babel's territory currencies), or None."""
    if not country:
        return None
    try:
        found = get_territory_currencies(country.upper(), date.today())
    except Exception:  # an unknown territory: no currency to show
        return None
    return found[0] if found else None


def approximate(
    amount: float,
    shop_currency: str | None,
    country: str | None,
    rates: Mapping[str, float],
) -> str | None:
    """ "≈ €13.69": `amount` (in the shop's currency) in the visitor's currency, formatted for
    the visitor's locale; None when the visitor's currency is the shop's own, unknown, or has
    no configured rate."""
    theirs = currency_of(country)
    if theirs is None or theirs == (shop_currency or DEFAULT_CURRENCY) or theirs not in rates:
        return None
    shown = format_currency(amount * rates[theirs], theirs, locale=locale_of(country))
    return f"≈ {shown}"


def parse_rates(value: str) -> dict[str, float]:
    """ "EUR:1.17,USD:1.27" -> {"EUR": 1.17, "USD": 1.27}; ValueError names what is wrong."""
    rates: dict[str, float] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        code, sep, rate = part.partition(":")
        code = code.strip().upper()
        if not sep or len(code) != 3 or not code.isalpha():
            raise ValueError(f"expected CODE:RATE pairs like EUR:1.17, got {part!r}")
        try:
            value_ = float(rate)
        except ValueError:
            raise ValueError(f"{code}: the rate is not a number") from None
        if not value_ > 0:
            raise ValueError(f"{code}: the rate must be above 0")
        rates[code] = value_
    return rates
