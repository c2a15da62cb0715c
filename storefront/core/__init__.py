"""The personalization core: plan, candidates, the one post-pick pipeline, compose, replay.

Nothing in this package imports Flask or Redis: the web layer reads the request's snapshot
(catalog, model, published rules, running experiments, settings) and passes it down, with the
ports (core/ports.py) that reach outside (exposure ledger, fragment cache).
"""
