"""Experiments: A/B/n tests of slot strategies, model versions or rule sets, a permanent
holdout that sees the non-personalized shop, and their measurement from the event log."""
