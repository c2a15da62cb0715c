"""The shop's words in templates: counts with plurals, articles, the privacy note, approximate
prices in the visitor's currency (storefront/words.py does the Babel work)."""

from __future__ import annotations

from flask import current_app

from storefront import words
from storefront.core.context import Consent
from storefront.shop.views import bp


@bp.app_template_filter("counted")
def counted(n: float, word: str, plural_word: str | None = None) -> str:
    """``{{ total|counted('result') }}``: "1 result", "2 results"."""
    return words.count(n, word, plural_word)


@bp.app_template_filter("long_date")
def long_date(when) -> str:
    """``{{ due|long_date }}``: "January 14, 2027" (Babel, the shop's language)."""
    return words.day(when)


@bp.app_template_filter("with_article")
def with_article(word: str) -> str:
    """``{{ role|with_article }}``: "an editor"."""
    return words.article(str(word))


@bp.app_template_filter("percent")
def percent(share: float) -> str:
    """``{{ 0.05|percent }}``: "5%"."""
    return words.percent(share)


@bp.app_template_global("approx_price")
def approx_price(amount: float, currency: str | None, country: str | None) -> str | None:
    """ "≈ €13.69" in the visitor's currency, or None (no rate configured, or their currency is
    the shop's). Only for reading: what is charged stays in the shop's currency."""
    rates = current_app.config["SETTINGS"].display_currencies
    return words.approximate(amount, currency, country, rates) if rates else None


@bp.app_template_global("privacy_note")
def privacy_note(consent: Consent) -> str:
    """Why history is not used, in a sentence that never reads "None honoured"."""
    reason = consent.reason
    if reason in ("Global Privacy Control", "Do Not Track"):
        return f"Your browser's {reason} signal is honoured: nothing from your history is used"
    if reason == "personalization switched off":
        return "You switched personalization off: nothing from your history is used"
    return "You switched browsing history off: nothing from your history is used"
