"""The personalization core: context, plan, candidates, the one post-pick pipeline, compose,
replay. No Flask, Redis or SQL in it.

The web layer (storefront/ outside core/) reads the request's snapshot (catalog, model,
published rules, running experiments, settings), turns the request into core values and calls
in; the core reaches Redis, SQL and the clock only through the Protocols in core/ports.py
(session reader, exposure ledger, fragment cache, clock).
"""
