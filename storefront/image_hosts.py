"""The CSP of a shop page when an imported catalog's pictures live on their own hosts.

The shop's CSP (storefront/security.py) allows images from itself only; a catalog's `image_url`s
point elsewhere, so shop pages add those hosts to img-src, and nothing else. The import accepts
only plain http(s) hosts, so an origin cannot end the directive.
"""

from __future__ import annotations

import functools

from storefront.security import CSP

MAX_IMAGE_ORIGINS = 20  # beyond this many hosts a catalog's pictures are allowed from any https


@functools.lru_cache(maxsize=8)
def csp_with_images(origins: tuple[str, ...]) -> str:
    """The CSP with these image origins allowed in img-src."""
    if not origins:
        return CSP
    extra = "https:" if len(origins) > MAX_IMAGE_ORIGINS else " ".join(origins)
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {extra}")
