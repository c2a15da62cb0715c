"""The one pipeline's guarantees as hypothesis properties, on synthetic pages of two kinds of
catalog (flat categories like the demo store's; the grocery store's three-level taxonomy,
tests/stores/grocery.py): random candidate lists per slot, random rule sets with priorities.
Whole pages of the real stores: tests/integration/test_page_guarantees.py."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.core import pipeline
from storefront.core.pipeline import SlotWork
from storefront.core.strategies import Exploration, Pick
from storefront.layouts import Layout, Slot
from storefront.rules.apply import Sizing, resolve
from storefront.rules.schema import Rule
from tests.stores.grocery import TAXONOMY


def flat_catalog() -> Catalog:
    cats = ["christmas", "kitchen-dining", "party", "garden", "toys-games", "bags-purses"]
    products = [
        Product(f"{c[:3].upper()}{i}", f"{c} {i}", c, 1.0 + i, None, 100 - i)
        for c in cats
        for i in range(20)
    ]
    return Catalog(products, [CategoryInfo(c, c.title(), 20) for c in cats])


def grocery_catalog() -> Catalog:
    products, cats = [], []
    for top, seconds in TAXONOMY.items():
        t = top.lower().replace(" ", "-").replace("&", "and")
        cats.append(CategoryInfo(t, top, 0))
        for second, leaves in seconds.items():
            s = f"{t}/{second.lower().replace(' ', '-').replace('&', 'and')}"
            cats.append(CategoryInfo(s, second, 0, t))
            for leaf, stems in leaves.items():
                leaf_slug = f"{s}/{leaf.lower().replace(' ', '-').replace('&', 'and')}"
                cats.append(CategoryInfo(leaf_slug, leaf, 0, s))
                for i, stem in enumerate(stems):
                    pid = f"G{len(products):04d}"
                    products.append(
                        Product(pid, stem, leaf_slug, 1.0 + i, None, 50 - i, (t, s, leaf_slug))
                    )
    return Catalog(products, cats)


CATALOGS = {"flat": flat_catalog(), "grocery": grocery_catalog()}
PROPERTY = settings(max_examples=80, deadline=None, derandomize=True)
MANY_RAILS = settings(PROPERTY, max_examples=16)  # each example is 200 rails


@st.composite
def page(draw, catalog: Catalog):
    """1-4 slots, each a ranked candidate list leaning on one category (as a taste does)."""
    pids = sorted(catalog.products)
    by_cat: dict[str, list[str]] = {}
    for pid in pids:
        by_cat.setdefault(catalog.products[pid].category, []).append(pid)
    works = []
    for i in range(draw(st.integers(1, 4))):
        size = draw(st.sampled_from([4, 8, 12]))
        heavy = draw(st.sampled_from(sorted(by_cat)))
        lean = draw(st.lists(st.sampled_from(by_cat[heavy]), max_size=size * 2, unique=True))
        rest = draw(st.lists(st.sampled_from(pids), max_size=size * 3, unique=True))
        ranked = list(dict.fromkeys(lean + rest))
        draw(st.randoms()).shuffle(ranked) if draw(st.booleans()) else None
        works.append(SlotWork(f"s{i}", size, tuple(Pick(p, 1.0, "r", "personal") for p in ranked)))
    return works


def rng_for(seed):
    return lambda slot_id: pipeline.seeded_rng(slot_id, seed)


def _available(works, out, index) -> list[str]:
    """The candidates slot `index` could still show: not on the page before it."""
    before = {p.product_id for _, picks in out[:index] for p in picks}
    return [p.product_id for p in works[index].picks if p.product_id not in before]


@PROPERTY
@given(data=st.data(), kind=st.sampled_from(sorted(CATALOGS)), share=st.sampled_from([0.25, 0.5]))
def test_no_rail_over_the_category_share_when_the_candidates_allow_it(data, kind, share):
    catalog = CATALOGS[kind]
    works = data.draw(page(catalog))
    out = pipeline.run_page(works, catalog, share, rng_for(1))
    for index, (w, picks) in enumerate(out):
        limit = pipeline.cap_of(w.size, share)
        counts = Counter(catalog.products[p.product_id].category for p in picks)
        avail = Counter(catalog.products[p].category for p in _available(works, out, index))
        allows = sum(min(n, limit) for n in avail.values()) >= len(picks)
        if allows:
            assert max(counts.values(), default=0) <= limit, (counts, limit)
        assert len(picks) == min(w.size, len(_available(works, out, index)))  # never short


@MANY_RAILS
@given(
    data=st.data(),
    kind=st.sampled_from(sorted(CATALOGS)),
    share=st.sampled_from([0.1, 0.125, 0.2, 0.25]),
    size=st.sampled_from([4, 8, 12]),
)
def test_discovery_share_over_many_rails_is_the_configured_share(data, kind, share, size):
    catalog = CATALOGS[kind]
    pids = sorted(catalog.products)
    tiles = found = 0
    for visitor in range(200):
        heavy = data.draw(st.sampled_from(pids))
        cat = catalog.products[heavy].category
        ranked = [p for p in pids if catalog.products[p].category == cat]
        ranked += [p for p in pids if p not in ranked][: size * 2]
        work = SlotWork(
            "for-you",
            size,
            tuple(Pick(p, 1.0, "r", "personal") for p in ranked[: size * 3]),
            explore=Exploration(share, tuple(reversed(pids))),
        )
        [(_, picks)] = pipeline.run_page([work], catalog, 0.5, rng_for(visitor))
        tiles += len(picks)
        found += sum(p.kind == "discovery" for p in picks)
        # inside the rail as cut, never first
        assert all(p.kind != "discovery" for p in picks[:1])
    assert abs(found / tiles - share) <= 0.02, (found, tiles, share)


def rule(name: str, priority: int, **then) -> Rule:
    return Rule.model_validate({"name": name, "priority": priority, "then": then})


@PROPERTY
@given(
    data=st.data(),
    kind=st.sampled_from(sorted(CATALOGS)),
    n_rules=st.integers(1, 5),
)
def test_a_pin_holds_in_its_slot_unless_a_higher_rule_hides_it(data, kind, n_rules):
    catalog = CATALOGS[kind]
    pids = sorted(catalog.products)
    base = Layout("home", tuple(Slot(f"s{i}", "for_you", f"S{i}", size=8) for i in range(3)))
    rules = []
    for i in range(n_rules):
        then: dict = {}
        pid = data.draw(st.sampled_from(pids[:12]))
        if data.draw(st.booleans()):
            slot = data.draw(st.sampled_from([s.id for s in base.slots]))
            then["pin"] = [{"product": pid, "slot": slot, "position": data.draw(st.integers(1, 9))}]
        if data.draw(st.booleans()):
            hidden = data.draw(st.sampled_from(pids[:12]))
            then["hide"] = (
                {"products": [hidden]}
                if data.draw(st.booleans())
                else {"categories": [catalog.products[hidden].category_path[0]]}
            )
        if not then:
            then["boost"] = [{"price_band": "budget"}]
        rules.append(rule(f"r{i}", data.draw(st.integers(1, 50)), **then))
    ranked = sorted(rules, key=lambda r: (-r.priority, r.name))
    res = resolve("home", base, ranked, Sizing(False, 8, 4), catalog)
    works = []
    for s in res.layout.slots:
        candidates = [Pick(p, 1.0, "r", "personal") for p in data.draw(st.permutations(pids))[:24]]
        picks, pins = pipeline.rule_effects(candidates, res.policy(s.id), catalog)
        works.append(SlotWork(s.id, s.size, tuple(picks), tuple(pins)))
    out = {w.slot_id: picks for w, picks in pipeline.run_page(works, catalog, 0.5, rng_for(0))}
    shown = [p.product_id for picks in out.values() for p in picks]
    assert len(shown) == len(set(shown))  # once a page
    rank = {r.name: i for i, r in enumerate(ranked)}
    for r in ranked:
        for pin in r.then.pin:
            earlier_pin = any(
                p.product == pin.product for q in ranked[: rank[r.name]] for p in q.then.pin
            )
            hider = next(
                (
                    q
                    for q in ranked
                    if q.then.hide is not None
                    and (
                        pin.product in q.then.hide.products
                        or catalog.products[pin.product].in_any(q.then.hide.categories)
                    )
                ),
                None,
            )
            if earlier_pin:
                continue  # a higher rule's pin of the same product decides
            if hider is not None and rank[hider.name] < rank[r.name]:
                assert pin.product not in shown  # a higher rule hides it
                continue
            tiles = out[pin.slot]
            got = [p for p in tiles if p.product_id == pin.product]
            assert got, (pin, [p.product_id for p in tiles])
            assert got[0].kind == "pinned" and got[0].rule == r.name


@PROPERTY
@given(data=st.data(), kind=st.sampled_from(sorted(CATALOGS)))
def test_the_same_inputs_and_seed_give_the_same_page(data, kind):
    catalog = CATALOGS[kind]
    works = data.draw(page(catalog))
    explore = Exploration(0.25, tuple(sorted(catalog.products)))
    works = [SlotWork(w.slot_id, w.size, w.picks, explore=explore) for w in works]
    one = pipeline.run_page(works, catalog, 0.5, rng_for("qa"))
    two = pipeline.run_page(works, catalog, 0.5, rng_for("qa"))
    assert one == two
