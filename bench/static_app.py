"""The shop's own WSGI app plus two extra routes, the "static endpoints of the same stack" the
throughput benchmark compares personalized pages with. Used by bench/throughput.py only; never
by the shop itself.

- /__static returns a fixed home page's HTML (BENCH_STATIC_HTML) as a ready string: the same
  Flask app, hooks and gunicorn workers, and no template work at all (the strictest baseline).
- /__render renders the home page's template with the template variables of one home page
  this worker built (an anonymous visitor's, captured through Flask's template_rendered
  signal on its first call): what a non-personalized shop does per request, the "static
  render" of bench/page_times.py.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import render_template, template_rendered

from storefront.server import serving_app

# as `storefront serve` loads it (server.py): one BLAS thread, the model loaded, the heap
# frozen out of the garbage collector's scans (before 2026-12-07 the bench skipped the last two)
app = serving_app()
_HTML = (
    Path(os.environ["BENCH_STATIC_HTML"]).read_text() if "BENCH_STATIC_HTML" in os.environ else ""
)
_captured: list[tuple[str, dict]] = []
_lock = threading.Lock()


def _injected() -> set[str]:
    """Names the renderer adds itself (g, request, session, csrf_token...)."""
    with app.test_request_context():
        names: dict = {}
        app.update_template_context(names)
    return set(names)


def _remember(sender, template, context, **extra) -> None:
    name = template.name or ""
    if name == "shop/home.html" and not _captured:
        skip = _injected()
        _captured.append((name, {k: v for k, v in context.items() if k not in skip}))


template_rendered.connect(_remember, app, weak=False)


@app.get("/__static")
def static_page():
    return app.response_class(_HTML, mimetype="text/html")


@app.get("/__render")
def static_render():
    if not _captured:
        with _lock:
            if not _captured:  # build one home page in this worker (after the fork)
                app.test_client().get("/")
    name, variables = _captured[0]
    return render_template(name, **variables)
