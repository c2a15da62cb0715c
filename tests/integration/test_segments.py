"""Micro-segments in the running shop: the trained model has them, a rule conditioned on a
segment shows on that segment's pages only, a shopper sees theirs in "what we inferred" and can
say it is not true, and the studio lists them."""

from __future__ import annotations

from markupsafe import escape

from tests.helpers import slots
from tests.integration.rules_support import clean_rules, publish  # noqa: F401 - fixture
from tests.integration.test_admin_studio import signed_in, studio  # noqa: F401 - fixture


def _two_segments(model):
    """A customer of the biggest segment and one of another segment."""
    by_segment: dict[str, str] = {}
    for u in model.user_ids.tolist():
        seg = model.segment_of(u)
        if seg is not None:
            by_segment.setdefault(seg.id, u)
        if len(by_segment) >= 2:
            break
    (seg_a, a), (seg_b, b) = list(by_segment.items())[:2]
    return seg_a, a, seg_b, b


def test_the_trained_model_has_described_segments(app):
    model = app.extensions["models"].get().model
    assert 2 <= len(model.segments) <= 40
    assert sum(s.size for s in model.segments) == sum(
        model.segment_of(u) is not None for u in model.user_ids.tolist()
    )
    for s in model.segments:
        assert s.id and s.name and "customers" in s.description and s.examples
        assert all(model.segment_of(c).id == s.id for c in s.examples)


def test_a_segment_rule_shows_on_that_segments_pages_only(app, clean_rules):  # noqa: F811
    model = app.extensions["models"].get().model
    seg_a, a, seg_b, b = _two_segments(model)
    publish(
        app,
        [
            {
                "name": "For one segment",
                "when": {"segment": seg_a},
                "then": {
                    "add": [
                        {"id": "for-the-group", "strategy": "trending_near_you", "title": "Yours"}
                    ]
                },
            }
        ],
    )
    inside, other, anonymous = app.test_client(), app.test_client(), app.test_client()
    assert inside.post("/account", data={"customer_id": a}).status_code == 303
    assert other.post("/account", data={"customer_id": b}).status_code == 303
    home = inside.get("/").get_data(True)
    assert "for-the-group" in slots(home)
    name = model.segment(seg_a).name
    said = escape(name[:1].lower() + name[1:])  # in a sentence: "our budget kitchen & … buyers"
    assert f">{said}</a>" in home  # in the page's context panel
    assert "for-the-group" not in slots(other.get("/").get_data(True))
    assert "for-the-group" not in slots(anonymous.get("/").get_data(True))
    # the shopper sees the segment among what was inferred, and can say it is not true
    me = inside.get("/me").get_data(True)
    assert 'data-trait="segment"' in me and said in me
    r = inside.post("/me", data={"action": "drop", "value": "segment"})
    assert r.status_code in (302, 303)
    assert "for-the-group" not in slots(inside.get("/").get_data(True))
    assert 'data-trait="segment"' not in inside.get("/me").get_data(True)


def test_the_studio_lists_segments(studio):  # noqa: F811
    model = studio.extensions["models"].get().model
    page = signed_in(studio, "vera").get("/admin/segments").get_data(True)
    for s in model.segments:
        assert f'data-segment="{s.id}"' in page
    assert model.segments[0].description.split(" · ")[0].replace("&", "&amp;") in page
