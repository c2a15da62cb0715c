"""WSGI entry point for any server: `gunicorn wsgi:app` (storefront serve does this for you)."""

import sys

from threadpoolctl import threadpool_limits

from storefront import create_app
from storefront.config import ConfigError
from storefront.migrations import SchemaNotCurrent

# one BLAS thread a worker, as storefront serve runs them (server.py): a page's fold-in is one
# small matrix product, and BLAS's own threads would only contend with the server's
threadpool_limits(1, "blas")
try:
    app = create_app()
except ConfigError as exc:  # one line naming the variable, not a traceback
    sys.exit(f"storefront: {exc}")
except SchemaNotCurrent as exc:
    # one line in the server's log instead of a traceback per worker; 4 is gunicorn's "app
    # failed to load", on which its master stops instead of starting workers again and again
    print(f"storefront: {exc}", file=sys.stderr, flush=True)
    sys.exit(4)
