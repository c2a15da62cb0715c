"""`python -m storefront.cli …`, the same command as the `storefront` console script."""

import os

from storefront.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
main()
