"""WSGI entry point for any server: `gunicorn wsgi:app` (storefront serve does this for you)."""

from storefront import create_app

app = create_app()
