"""The shopper pages: home, category, product, search, cart, account, product images."""

from storefront.shop import account as _account  # noqa: F401  (registers /account)
from storefront.shop import hints as _hints  # noqa: F401  (Accept-CH, Vary on shop pages)
from storefront.shop import me as _me  # noqa: F401  (registers /me on the blueprint)
from storefront.shop import wording as _wording  # noqa: F401  (template filters and globals)
from storefront.shop.views import bp

__all__ = ["bp"]
