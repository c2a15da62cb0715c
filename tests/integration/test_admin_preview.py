"""Preview as anyone (draft vs published, with reasons) and the impact report, in the studio."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from storefront.admin import users
from storefront.rules import store
from storefront.rules.schema import Rule
from tests.helpers import record_visits
from tests.integration.rules_support import catalog_of, clean_rules, outside  # noqa: F401

PASSWORD = "a long enough password"


@pytest.fixture
def viewer(app, request):
    engine = request.getfixturevalue("clean_rules")
    users.create(engine, "vera", PASSWORD, "viewer")
    client = app.test_client()
    client.post("/admin/login", data={"username": "vera", "password": PASSWORD})
    return client


def gifts(pid: str) -> Rule:
    return Rule.model_validate(
        {
            "name": "French mobile evenings",
            "priority": 50,
            "when": {"device": "mobile", "country": "FR", "daypart": "evening"},
            "then": {
                "add": [
                    {
                        "id": "gifts",
                        "strategy": "category_top",
                        "title": "Gifts for tonight",
                        "params": {"category": "party"},
                        "position": 1,
                    }
                ],
                "pin": [{"product": pid, "slot": "gifts"}],
            },
        }
    )


def section(page: str, which: str) -> str:
    m = re.search(rf'<section data-testid="preview-{which}".*?</section>', page, re.S)
    assert m, which
    return m.group(0)


def slot_list(part: str) -> list[str]:
    m = re.search(r'<ol class="slot-list".*?</ol>', part, re.S)
    return re.findall(r'<li data-slot="([^"]+)"', m.group(0))


def test_preview_draft_and_published_side_by_side_with_reasons(app, viewer):
    pid = outside(catalog_of(app), "party")
    store.save_rule(app.extensions["db"], "ed", gifts(pid))  # in the draft, not published
    query = "/admin/preview?go=1&page=home&country=FR&device=mobile&when=2011-12-05T19:30"
    r = viewer.get(query)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    live, draft = section(page, "published"), section(page, "draft")
    assert slot_list(draft)[0] == "gifts" and "gifts" not in slot_list(live)
    assert f"gifts <small>(category_top)</small>: {pid}" in draft
    assert 'data-rule="French mobile evenings" data-matched="yes"' in draft
    assert "device is mobile (wants mobile)" in draft
    assert "the draft adds gifts" in page
    # the page itself, rendered as the shop would, in a sandboxed frame
    frame = re.search(r'<iframe sandbox [^>]*srcdoc="([^"]*)" data-testid="frame-draft"', page)
    frame = frame.group(1)
    inner = html_lib.unescape(frame)
    assert 'data-slot="gifts"' in inner and f'data-product-id="{pid}"' in inner
    # another visitor: a desktop in Germany in the morning sees no difference
    other = viewer.get(
        "/admin/preview?go=1&page=home&country=DE&device=desktop&when=2011-12-05T09:30"
    ).get_data(as_text=True)
    assert "Nothing: this visitor sees the same page." in other
    assert 'data-matched="no"' in section(other, "draft")
    assert "daypart is morning (wants evening)" in section(other, "draft")
    # the preview never wrote a fragment to the shop's cache
    assert not list(app.extensions["redis"].scan_iter("sf:frag:*preview*"))


def test_preview_other_pages_sessions_and_mistakes(app, viewer):
    catalog = catalog_of(app)
    pid = next(iter(catalog.by_category["party"]))
    r = viewer.get(f"/admin/preview?go=1&page=product&product={pid}&views={pid}&cart={pid}+x2")
    assert r.status_code == 200 and "similar" in slot_list(section(r.get_data(True), "draft"))
    r = viewer.get("/admin/preview?go=1&page=category&category=party&country=GB")
    assert "listing" in slot_list(section(r.get_data(True), "draft"))
    r = viewer.get("/admin/preview?go=1&page=cart&cart=" + pid)
    assert r.status_code == 200
    bad = viewer.get("/admin/preview?go=1&country=France&views=NOPE").get_data(True)
    assert "not in the catalog (ignored by the shop): NOPE" in bad
    assert "country: country must be a two-letter" in bad


def test_impact_counts_changed_pages(app, viewer):
    from datetime import UTC, datetime, timedelta

    engine = app.extensions["db"]
    # 60 recent visits in the event log: home pages, one in two on a phone
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    pid = catalog_of(app).best_sellers(1)[0].id
    record_visits(
        engine,
        "impact-home",
        60,
        an_hour_ago,
        timedelta(seconds=1),
        type="impression",
        product_id=pid,
        page="home",
        country="GB",
        device=lambda i: "mobile" if i % 2 else "desktop",
    )
    r = viewer.get("/admin/impact?n=1000").get_data(as_text=True)
    sampled = int(re.search(r'data-testid="changed">0</strong> of (\d+) pages', r).group(1))
    assert sampled >= 60
    assert "visits sampled from the last 14 days" in r
    store.save_rule(
        engine,
        "ed",
        Rule.model_validate(
            {
                "name": "Phones: no trending",
                "when": {"device": "mobile"},
                "then": {"remove": ["trending"]},
            }
        ),
    )
    page = viewer.get("/admin/impact?n=1000").get_data(as_text=True)
    changed = int(re.search(r'data-testid="changed">(\d+)</strong> of', page).group(1))
    assert 30 <= changed < sampled, changed  # the 30 phone visits on home (and any others)
    assert '<tr data-kind="slots removed"><th scope="row">slots removed</th><td>' in page
    assert '“Trending near you” <small class="meta">trending</small> (' in page  # by title
    assert re.search(r'data-rule="Phones: no trending"><th scope="row">[^<]+</th><td>0</td>', page)
    assert "/admin/preview?go=1" in page  # every example links to its preview
