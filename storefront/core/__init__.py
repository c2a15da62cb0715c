"""The personalization core: what a page is made of, with no Flask, Redis or SQL in it.

The web layer (storefront/ outside core/) turns a request into core values and calls in; the
core reaches Redis, SQL and the clock only through the Protocols in core/ports.py.
"""
