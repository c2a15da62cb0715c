"""How the visitor arrived: UTM parameters first, else the referrer's kind, else direct."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from storefront.core.lookup import lookup

SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
SOCIAL = (
    "facebook.",
    "instagram.",
    "t.co",
    "twitter.",
    "x.com",
    "pinterest.",
    "tiktok.",
    "linkedin.",
    "reddit.",
    "youtube.",
)
MAIL = ("mail.", "outlook.", "gmail.")


@dataclass(frozen=True)
class Channel:
    kind: str  # direct | search | social | email | campaign | referral | internal
    source: str | None = None  # utm_source or referrer host
    medium: str | None = None
    campaign: str | None = None


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()[:64]
    return value or None


DIRECT = Channel("direct")


def read_channel(args: Mapping[str, str], referrer: str | None, own_host: str) -> Channel:
    """Classify the visit; UTM tags win because marketers set them on purpose. `own_host` is
    read only beside a referrer (an internal link), so a caller may leave it out otherwise."""
    if not args and not referrer:  # most pages (Channel is frozen: one value serves them all)
        return DIRECT
    source = _clean(lookup(args, "utm_source"))
    medium = _clean(lookup(args, "utm_medium"))
    campaign = _clean(lookup(args, "utm_campaign"))
    if source or campaign:
        kind = "campaign"
        if medium and medium.lower() in ("email", "newsletter"):
            kind = "email"
        elif medium and medium.lower() in ("social", "social-paid", "paid-social"):
            kind = "social"
        return Channel(kind, (source or "").lower() or None, medium, campaign)
    if not referrer:
        return Channel("direct")
    try:
        host = (urlsplit(referrer).hostname or "").lower()
    except ValueError:
        return Channel("direct")
    if not host:
        return Channel("direct")
    if host == own_host.split(":")[0].lower():
        return Channel("internal", host)
    if any(s in host for s in SEARCH_ENGINES):
        return Channel("search", host)
    if any(s in host for s in SOCIAL):
        return Channel("social", host)
    if any(host.startswith(s) for s in MAIL):
        return Channel("email", host)
    return Channel("referral", host)
