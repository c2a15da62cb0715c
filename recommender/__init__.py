"""The recommender: models behind one interface (base.py: ALS, BPR, LightFM hybrid, item-kNN,
popularity), training, a versioned registry on disk, numpy-only serving, and the evaluation that
measures all of them and the served rail on a temporal split (evaluate.py, docs/evaluation.md).

Serving never calls implicit: its OpenMP code is not fork-safe, and gunicorn forks workers after
the model is loaded. Workers score with numpy on memory-mapped factors instead.
"""
