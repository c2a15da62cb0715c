"""WSGI entry point for any server: `gunicorn wsgi:app` (storefront serve does this for you)."""

import sys

from storefront import create_app
from storefront.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # one line naming the variable, not a traceback
    sys.exit(f"storefront: {exc}")
