"""Each stage of the one post-pick pipeline (storefront/core/pipeline.py) on its own."""

from __future__ import annotations

from storefront.catalog import Catalog, CategoryInfo, Product
from storefront.core import pipeline
from storefront.core.pipeline import SlotWork
from storefront.core.strategies import Exploration, Pick
from storefront.rules.apply import SlotPolicy


def catalog() -> Catalog:
    cats = ["a", "b", "c", "d"]
    products = [
        Product(f"{c}{i}", f"{c.upper()} {i}", c, 1.0 + i, None, 100 - i)
        for c in cats
        for i in range(10)
    ]
    return Catalog(products, [CategoryInfo(c, c.upper(), 10) for c in cats])


CAT = catalog()


def picks(*pids: str, kind: str = "personal") -> tuple[Pick, ...]:
    return tuple(Pick(p, 1.0, "r", kind) for p in pids)


def ids(ps) -> list[str]:
    return [p.product_id for p in ps]


def test_showable_drops_unknown_and_avoided_products():
    out = pipeline.showable(picks("a0", "zz", "b0", "c1"), CAT, frozenset({"b"}))
    assert ids(out) == ["a0", "c1"]


def test_rule_effects_hide_lift_and_pin_with_the_rule_named():
    policy = SlotPolicy(
        pins=(("d0", 2, "winner"),),
        hide_products=frozenset({"a1"}),
        lifts=(("category", "c", 1),),
    )
    ranked, pins = pipeline.rule_effects(picks("a0", "a1", "c0", "d0"), policy, CAT)
    assert ids(ranked) == ["c0", "a0"] and ranked[0].kind == "boosted"
    assert [(p.product_id, at, p.rule, p.kind) for p, at in pins] == [("d0", 1, "winner", "pinned")]
    # not on a listing's later pages, never in a category the shopper avoids
    assert pipeline.rule_effects(picks("a0"), policy, CAT, first_page=False)[1] == []
    assert pipeline.rule_effects(picks("a0"), policy, CAT, frozenset({"d"}))[1] == []


def test_dedupe_a_pin_keeps_its_slot_and_earlier_slots_give_it_up():
    earlier = SlotWork("one", 3, picks("a0", "b0", "c0"))
    pinned = SlotWork("two", 3, picks("d0"), ((Pick("b0", 1, "p", "pinned", "r"), 0),))
    out = pipeline.run_page([earlier, pinned], CAT, 1.0, lambda s: pipeline.seeded_rng(s))
    assert ids(out[0][1]) == ["a0", "c0"]
    assert ids(out[1][1]) == ["b0", "d0"]
    # a product the page is about (or an earlier slot showed) leaves the later slots
    work = pipeline.dedupe(SlotWork("x", 3, picks("a0", "a1")), {"a0"}, set())
    assert ids(work.picks) == ["a1"]


def test_cap_applies_to_the_rail_as_cut_and_fills_only_when_nothing_else_is_left():
    ranked = picks(*(f"a{i}" for i in range(8)), "b0", "c0")
    out = pipeline.cut(pipeline.cap(SlotWork("s", 8, ranked), CAT, 0.5))
    assert len(out) == 8
    assert ids(out)[:6] == ["a0", "a1", "a2", "a3", "b0", "c0"]  # then the held-back a's
    short = pipeline.cut(
        pipeline.cap(SlotWork("s", 4, picks(*(f"a{i}" for i in range(8)))), CAT, 0.5)
    )
    assert ids(short) == ["a0", "a1", "a2", "a3"]  # nothing else: the rail is still full
    # the shopper's own products are not capped; a pin counts towards its category
    own = pipeline.cap(
        SlotWork("s", 4, picks("a0", "a1", "a2", kind="repeat") + picks("b0")), CAT, 0.5
    )
    assert ids(own.picks[:4]) == ["a0", "a1", "a2", "b0"]
    pin = ((Pick("a9", 1, "p", "pinned", "r"), 0),)
    capped = pipeline.cap(SlotWork("s", 4, picks("a0", "a1", "b0", "c0"), pin), CAT, 0.5)
    assert ids(capped.picks[:3]) == ["a0", "b0", "c0"]


def test_explore_count_is_bounded_and_exact_on_average():
    assert pipeline.explore_count(8, 0.125) == 1 and pipeline.explore_count(8, 0.0) == 0
    assert pipeline.explore_count(16, 0.25) == 4 and pipeline.explore_count(2, 0.5) == 0
    rng = pipeline.seeded_rng("x")
    counts = [pipeline.explore_count(4, 0.125, rng) for _ in range(4000)]
    assert abs(sum(counts) / (4 * 4000) - 0.125) < 0.01


def test_discovery_lands_inside_the_rail_from_new_categories_seeded():
    explore = Exploration(0.25, tuple(CAT.products))
    work = SlotWork("s", 8, picks(*(f"a{i}" for i in range(6)), *(f"b{i}" for i in range(6))))
    work = pipeline.cap(work, CAT, 1.0)
    one = pipeline.discover(
        SlotWork("s", 8, work.picks, explore=explore), CAT, pipeline.seeded_rng("v", 1)
    )
    again = pipeline.discover(
        SlotWork("s", 8, work.picks, explore=explore), CAT, pipeline.seeded_rng("v", 1)
    )
    assert one == again
    rail = pipeline.cut(one)
    found = [p for p in rail if p.kind == "discovery"]
    assert len(rail) == 8 and len(found) == 2  # 8 x 0.25 lands in the visible rail
    assert {CAT.products[p.product_id].category for p in found} == {"c", "d"}
    assert all(rail.index(p) >= 3 for p in found)  # the second half, never first
    # the rail's own later candidates from new categories come first (the model's best)
    later = SlotWork("s", 4, picks("a0", "a1", "a2", "a3", "d5", "c2"), explore=Exploration(0.25))
    got = pipeline.discover(later, CAT, pipeline.seeded_rng(1), avoid=frozenset())
    assert "d5" in ids(pipeline.cut(got))


def test_cut_places_pins_and_cuts_to_size():
    pins = ((Pick("d0", 1, "p", "pinned", "a"), 0), (Pick("d1", 1, "p", "pinned", "b"), 0))
    out = pipeline.cut(SlotWork("s", 3, picks("a0", "a1", "a2"), pins))
    assert ids(out) == ["d0", "d1", "a0"]
    far = ((Pick("d0", 1, "p", "pinned", "a"), 20),)
    assert ids(pipeline.cut(SlotWork("s", 3, picks("a0", "a1", "a2"), far))) == ["a0", "a1", "d0"]


def test_reasons_give_every_tile_a_kind():
    out = pipeline.reasons([Pick("a0", 1, "r"), Pick("a1", 1, "r", "similar")], "trending")
    assert [p.kind for p in out] == ["trending", "similar"]


def test_cached_form_round_trips():
    work = SlotWork(
        "s",
        4,
        picks("a0", "b0"),
        ((Pick("d0", 1.0, pipeline.PINNED_REASON, "pinned", "r"), 1),),
        True,
        Exploration(0.125, ("c0",)),
        "Title",
    )
    assert SlotWork.from_json("s", 4, True, work.to_json()) == work


def test_the_discovery_pool_is_the_first_popular_products_a_pick_may_be():
    """Read in order and only as far as needed: exactly the first DISCOVERY_POOL popular ids
    that are in the catalog, not in view or taken, in no avoided and no used category."""
    import random

    rnd = random.Random(3)
    everything = [*CAT.products, "zz", "yy"]
    for _ in range(200):
        popular = rnd.sample(everything, len(everything)) * 3
        skip = set(rnd.sample(everything, 5))
        used = set(rnd.sample("abcd", rnd.randrange(3)))
        avoid = frozenset(rnd.sample("abcd", rnd.randrange(2)))
        want = [
            pid
            for pid in popular
            if pid not in skip
            and pid in CAT.products
            and not CAT.products[pid].in_any(avoid)
            and CAT.products[pid].category not in used
        ][: pipeline.DISCOVERY_POOL]
        assert pipeline._pool(popular, CAT, skip, used, avoid) == want
