"""Merchandiser rules: conditions on the request context -> effects on the page.

schema (the models) · facts (what conditions test) · matching (which rules hold) · apply (layout
and item policies, deterministic; the policies act on picks in core/pipeline.rule_effects) ·
conflicts (found while writing) · validate / yamlio (refusals that name rule, field and line).
See docs/rules.md.
"""
