"""The page guarantees of issue #17, as hypothesis properties over random visitors, contexts and
rule sets, on whole pages of two stores: the demo store and the grocery store
(tests/stores/grocery.py). Each would have caught one of the defects measured in the issue:

- no rail has more than the configured share of its tiles from one category (the candidates
  of a store this size always allow it);
- the discovery share over many "for you" rails is within 2 points of the configured share;
- a pinned product appears in its slot unless a higher-priority rule hides it, and the
  preview names the rule that won; the preview's headline lists every change it shows;
- preview HTML equals live HTML for the same persona, time and rules version;
- under one QA snapshot, personas with identical history get identical bytes.

The checks read the pages from outside, as QA would (data-product-id, data-category,
data-reason), and the catalog for each tile's own category.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import products_in
from tests.integration.rules_support import clean_rules, publish, wipe, wiped_rules  # noqa: F401

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a property test, not a flaky one
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is whole pages
)
_ids = itertools.count()
TILE = re.compile(r'<li class="tile"([^>]*?) data-product-id="([^"]+)"')
RAIL = re.compile(r'<section class="slot slot-rail" data-slot="([^"]+)".*?</section>', re.S)


@pytest.fixture
def store(either_store):
    """An app on one of the two stores (tests/conftest.py: the demo store, the grocery store)."""
    return either_store


@pytest.fixture
def rules(store):
    yield from wiped_rules(store)


def catalog_of(app):
    return app.extensions["models"].get().catalog


def model_of(app):
    return app.extensions["models"].get().model


def post_views(client, pids) -> None:
    batch = [
        {"id": f"pg-{next(_ids):08d}", "ts": 1733400000000, "type": "view", "product_id": p}
        for p in pids
    ]
    r = client.post("/events", json={"events": batch})
    assert r.status_code == 202, r.get_json()


def rails(html: str) -> dict[str, list[tuple[str, str]]]:
    """Each rail's tiles: (product id, the tile's other attributes)."""
    out = {}
    for m in RAIL.finditer(html):
        out[m.group(1)] = [(pid, attrs) for attrs, pid in TILE.findall(m.group(0))]
    return out


def reason_of(attrs: str) -> str:
    m = re.search(r'data-reason="([^"]*)"', attrs)
    return m.group(1) if m else ""


def is_discovery(html: str, pid: str) -> bool:
    """A discovery tile, read from its data-reason (or, on an older page, its "Why this?")."""
    m = re.search(
        rf'<li class="tile"([^>]*?) data-product-id="{re.escape(pid)}">.*?</li>', html, re.S
    )
    return bool(m) and ('data-reason="discovery"' in m.group(0) or "Something new" in m.group(0))


def visitor(app):
    """A random visitor with a history of 1-5 views from several categories, a country, a
    device and an hour (a fresh cookie each: nobody shares a cached page)."""
    catalog = catalog_of(app)
    pids = sorted(catalog.products)
    return st.fixed_dictionaries(
        {
            "views": st.lists(st.sampled_from(pids), min_size=1, max_size=5, unique=True),
            "country": st.sampled_from(["GB", "FR", "DE", "NL", "ES"]),
            "hour": st.integers(0, 23),
        }
    )


def visit(app, v, path="/") -> str:
    client = app.test_client()
    client.get("/")
    post_views(client, v["views"])
    when = f"2011-12-05T{v['hour']:02d}:30"
    return client.get(f"{path}?qa_country={v['country']}&qa_time={when}").get_data(as_text=True)


# ---- category share ---------------------------------------------------------------------------


@pytest.mark.usefixtures("rules")
def test_no_rail_has_more_than_the_category_share(store):
    settings_ = store.config["SETTINGS"]
    catalog = catalog_of(store)

    @PROPERTY
    @given(v=visitor(store))
    def check(v):
        html = visit(store, v)
        for slot, tiles in rails(html).items():
            capped = [pid for pid, attrs in tiles if reason_of(attrs) != "repeat"]
            if slot == "buy-again" or not capped:
                continue  # the shopper's own products: their choice, never capped
            limit = max(1, math.ceil(len(tiles) * settings_.rail_category_share))
            counts: dict[str, int] = {}
            for pid in capped:
                cat = catalog.products[pid].category
                counts[cat] = counts.get(cat, 0) + 1
            assert max(counts.values()) <= limit, (slot, counts, limit)

    check()


# ---- discovery share --------------------------------------------------------------------------


@pytest.mark.usefixtures("rules")
def test_discovery_share_over_many_rails_is_the_configured_share(store):
    from storefront.core.strategies.personal import discovery_share

    # the store's fitted share unless the shop configured one (tests/unit/test_discovery_share.py)
    share = discovery_share(store.config["SETTINGS"], model_of(store).explore_share)
    shown = []

    # Each rail rounds its share of tiles at random (seeded per visitor; core/pipeline.py
    # explore_count), so the measured share is a sample: at 8 tiles and a share near 0.08 its
    # standard deviation over n rails is about 0.06/sqrt(n) (0.8 points at 60). Measured over
    # 400 rails, eight runs on the demo store: 0.069-0.084 against 0.078 (sd 0.45 points), so
    # 2 points is more than 4 sd; at the 60 rails this test read before, 2 points was about
    # 2.6 sd and failed one CI run.
    @settings(PROPERTY, max_examples=400)
    @given(v=visitor(store))
    def collect(v):
        html = visit(store, v)
        tiles = products_in(html, "for-you")
        shown.append((len(tiles), sum(is_discovery(html, p) for p in tiles)))

    collect()
    tiles = sum(n for n, _ in shown)
    found = sum(k for _, k in shown)
    assert tiles >= 2400
    assert abs(found / tiles - share) <= 0.02, (found, tiles, share)


# ---- pins, hides and the preview --------------------------------------------------------------


PIN_SLOTS = ["trending", "seasonal", "for-you"]


@pytest.mark.usefixtures("rules")
def test_a_pin_holds_unless_a_higher_rule_hides_it_and_the_preview_names_the_winner(store):
    from storefront.rules.holder import Published
    from storefront.rules.personas import Persona, context_for
    from storefront.rules.preview import differences, render_side, tiles

    catalog = catalog_of(store)
    client = store.test_client()
    client.get("/")
    page = "/?qa_country=GB&qa_time=2011-12-05T12:30"

    @PROPERTY
    @given(
        slot=st.sampled_from(PIN_SLOTS),
        position=st.integers(1, 4),
        pin_priority=st.integers(1, 100),
        hide=st.sampled_from(["none", "product", "category"]),
        hide_priority=st.integers(1, 100),
        from_earlier=st.booleans(),
    )
    def check(slot, position, pin_priority, hide, hide_priority, from_earlier):
        wipe(store.extensions["db"])
        store.extensions["rules"].reload()
        before = client.get(page).get_data(as_text=True)
        shown = rails(before)
        # the product: one an earlier slot shows (the measured defect) or any other one
        earlier = [p for s, ts in shown.items() if s != slot for p, _ in ts]
        pid = earlier[0] if from_earlier and earlier else sorted(catalog.products)[7]
        rules = [
            {
                "name": "Pin it",
                "priority": pin_priority,
                "then": {"pin": [{"product": pid, "slot": slot, "position": position}]},
            }
        ]
        if hide != "none":
            what = (
                {"products": [pid]}
                if hide == "product"
                else {"categories": [catalog.products[pid].category]}
            )
            rules.append({"name": "Hide it", "priority": hide_priority, "then": {"hide": what}})
        version = publish(store, rules)
        after = client.get(page).get_data(as_text=True)
        # a tie goes to the name first in A to Z: "Hide it" before "Pin it"
        hidden = hide != "none" and hide_priority >= pin_priority
        on_page = [p for ts in rails(after).values() for p, _ in ts] + [
            p for p in products_in(after, "listing")
        ]
        if hidden:
            assert pid not in on_page
        else:
            in_slot = products_in(after, slot)
            assert pid in in_slot, (slot, pid, in_slot)
            # at its position, or the last place of a rail with fewer tiles than that
            assert in_slot.index(pid) == min(position, len(in_slot)) - 1
            position = in_slot.index(pid) + 1
            assert on_page.count(pid) == 1  # and only there: earlier slots gave it up
        # the preview of the same visit: the winning rule is named, the headline lists
        # every change it shows
        with store.test_request_context("/"):
            persona = Persona(country="GB", when="2011-12-05T12:30", recency="new")
            ctx = context_for(persona, store.config["SETTINGS"].store_timezone)
            snap = store.extensions["models"].get()
            none = Published("none")
            live = render_side("home", {}, ctx, snap, none, "none")
            draft = render_side("home", {}, ctx, snap, version_of(store, version), "draft")
            listed = tiles(draft)
            changes = differences(live, draft)
        if not hidden:
            assert f"{pid} (pinned by Pin it)" in listed[slot]
            assert any(f"{pid} pinned at #{position} by Pin it" in c for c in changes), changes
        was, now = tiles(live), tiles(draft)
        for s in set(was) | set(now):
            if s in was and s in now and was[s] != now[s]:
                assert any(c.startswith(f"{s} ") for c in changes), (s, changes)
        assert (was == now) == (not changes)

    check()


def version_of(app, version):
    from storefront.rules.holder import published

    with app.test_request_context("/"):
        current = published()
    assert current.label == version.label
    return current


# ---- preview HTML is the live HTML ------------------------------------------------------------


@pytest.mark.usefixtures("rules")
def test_preview_html_equals_live_html(store):
    """The same persona, time and rules version: the studio's page is the shop's, byte for
    byte, whether the shop's slots come from its cache or not."""
    from flask import g

    from storefront import pages
    from storefront.fragments import Timings
    from storefront.rules.holder import published
    from storefront.rules.personas import Persona, context_for
    from storefront.rules.preview import TEMPLATES, render_side, template_vars

    catalog = catalog_of(store)
    pids = sorted(catalog.products)
    publish(store, [{"name": "Boost one", "then": {"boost": [{"price_band": "budget"}]}}])

    @PROPERTY
    @given(
        views=st.lists(st.sampled_from(pids), max_size=4, unique=True),
        country=st.sampled_from(["GB", "FR", "DE"]),
        device=st.sampled_from(["desktop", "mobile"]),
        hour=st.integers(0, 23),
        page=st.sampled_from(["home", "category", "search", "cart"]),
    )
    def check(views, country, device, hour, page):
        persona = Persona(
            country=country,
            device=device,
            when=f"2011-12-05T{hour:02d}:30",
            recency="returning" if views else "new",
            views=tuple(views),
            cart={views[0]: 1} if views and page == "cart" else {},
        )
        args = {
            "home": {},
            "cart": {},
            "category": {"category": catalog.products[pids[0]].category, "page": 1},
            "search": {"query": catalog.products[pids[3]].title.split()[0], "page": 1},
        }[page]
        with store.test_request_context("/"):
            ctx = context_for(persona, store.config["SETTINGS"].store_timezone)
            snap = store.extensions["models"].get()
            side = render_side(page, args, ctx, snap, published(), "preview")
            lives = []
            for _ in range(2):  # cold, then from the shop's fragment cache
                g.context, g.timings = ctx, Timings()
                extra = template_vars(page, args, ctx, snap)
                response = pages.compose(page, args, TEMPLATES[page], **extra)
                lives.append(response.get_data(as_text=True))
        assert lives[0] == side.html
        assert lives[1] == side.html

    check()


# ---- QA snapshots -----------------------------------------------------------------------------


@pytest.mark.usefixtures("rules")
def test_identical_history_identical_bytes_under_one_snapshot(store):
    from storefront.qa_snapshot import Pin, make_token

    token = make_token(
        store.config["SECRET_KEY"],
        Pin(datetime(2011, 12, 5, 19, 30, tzinfo=UTC), seed="qa-17"),
    )
    catalog = catalog_of(store)
    pids = sorted(catalog.products)

    @PROPERTY
    @given(views=st.lists(st.sampled_from(pids), min_size=1, max_size=5, unique=True))
    def check(views):
        pages = []
        for _ in range(2):  # two personas: two cookies, the same history
            client = store.test_client()
            client.get("/")
            post_views(client, views)
            r = client.get("/", headers={"X-Storefront-Snapshot": token, "CF-IPCountry": "FR"})
            pages.append(r.get_data())
        assert pages[0] == pages[1]

    check()
