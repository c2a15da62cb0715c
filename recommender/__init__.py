"""The recommender, a library that imports nothing of the shop (storefront/; import-linter
checks it): the shop hands it orders, products, events and taxonomy as frames. Models behind one
interface for evaluation and serving (interface.py; base.py: ALS, BPR, LightFM hybrid, item-kNN,
EASE, popularity; serving.Model: a published version), one table of event weights (signals.py),
training, a versioned registry on disk, numpy-only serving, and the evaluation that measures the
models on a temporal split (evaluate.py, docs/evaluation.md); the replay of the served rail is
the shop's and is handed to it.

Serving never calls implicit: its OpenMP code is not fork-safe, and gunicorn forks workers after
the model is loaded. Workers score with numpy on memory-mapped factors instead.
"""
