"""The headless API (/api/v1): pages and slots as JSON or email-safe HTML for other channels,
built by the same context, layout, strategies and fragment cache as the HTML shop."""

from storefront.api.views import bp

__all__ = ["bp"]
