"""StorefrontFlask.ensure_sync: a plain function is remembered and answered as itself; any
other callable gets Flask's own answer every time."""

from __future__ import annotations

from flask import Flask

from storefront import StorefrontFlask


def test_plain_functions_are_remembered_and_returned_as_they_are():
    app = StorefrontFlask(__name__)

    def hook(response):
        return response

    assert app.ensure_sync(hook) is hook
    assert hook in app._plain
    assert app.ensure_sync(hook) is hook  # from the memo
    assert len(app._plain) == 1


def test_async_and_unhashable_callables_get_flasks_answer():
    app = StorefrontFlask(__name__)

    async def view():
        return "ok"

    class Unhashable:
        __hash__ = None

        def __call__(self):
            return "ok"

    odd = Unhashable()
    assert app.ensure_sync(odd) is odd
    assert view not in app._plain and len(app._plain) == 0
    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError:  # Flask's async support (asgiref) not installed: Flask says so
        return
    assert wrapped is not view and view not in app._plain


def test_the_memo_is_bounded_and_requests_still_run():
    app = StorefrontFlask(__name__)
    app._PLAIN_MAX = 2
    for _ in range(5):
        app.ensure_sync(lambda: None)
    assert len(app._plain) == 2

    @app.get("/")
    def home():
        return "home"

    @app.after_request
    def mark(response):
        response.headers["X-Mark"] = "1"
        return response

    got = app.test_client().get("/")
    assert got.get_data(as_text=True) == "home" and got.headers["X-Mark"] == "1"
    assert isinstance(app, Flask)
