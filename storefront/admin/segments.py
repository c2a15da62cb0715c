"""The studio's view of the micro-segments the serving model found (recommender/segments.py):
what each group is, how big, how it differs from the rest, and customers to preview as."""

from __future__ import annotations

from flask import render_template

from storefront.admin import auth, bp
from storefront.model_holder import snapshot


@bp.get("/segments")
@auth.requires("viewer")
def segments():
    model = snapshot().model
    found = list(model.segments) if model is not None else []
    total = sum(s.size for s in found)
    return render_template(
        "admin/segments.html",
        segments=found,
        total=total,
        model_version=model.version if model is not None else None,
    )
