"""The shop's own WSGI app plus one extra route, /__static, that returns a fixed HTML page
(BENCH_STATIC_HTML) through the same Flask app, hooks and gunicorn workers: the "static
endpoint of the same stack" the throughput benchmark compares personalized pages with.
Used by bench/throughput.py only; never by the shop itself."""

from __future__ import annotations

import os
from pathlib import Path

from storefront import create_app

app = create_app()
_HTML = (
    Path(os.environ["BENCH_STATIC_HTML"]).read_text() if "BENCH_STATIC_HTML" in os.environ else ""
)


@app.get("/__static")
def static_page():
    return app.response_class(_HTML, mimetype="text/html")
