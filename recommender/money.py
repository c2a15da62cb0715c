"""Amounts as shoppers and merchandisers read them, in the store's currency ("€4.66",
"12.00 CHF"): one formatter for the shop's prices (storefront/catalog.py) and the words the
recommender writes (segment descriptions)."""

from __future__ import annotations

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}


def format_money(amount: float, currency: str | None, places: int = 2) -> str:
    """An amount in a currency ("€4.66", "12.00 CHF"); no currency given: pounds."""
    code = currency or "GBP"
    symbol = _SYMBOLS.get(code)
    number = f"{amount:,.{places}f}" if places == 0 else f"{amount:.{places}f}"
    return f"{symbol}{number}" if symbol else f"{number} {code}"
