"""Replay the "for you" rail exactly as the shop serves it, for every test customer.

The shop's model is trained with the shop's own training function on the lines before the
split, loaded with serving.Model (memory-mapped, as a worker loads it) and served through the
core's one plan and compose (core/plan.py, core/compose.py), so the rail includes everything a
page does to it: the blend, trait lean, exposure back-off, the one pipeline's category cap and
seeded discovery. Each customer arrives signed in at the split time, from their country; new
customers with a first order arrive with that order in their session (as views, with the
traits they would leave). The only stand-ins are the ports: the exposure ledger is empty for
everyone in a replay (nobody has been shown anything yet) and nothing is cached.

Moved here from recommender/served.py: it measures the shop, so it lives in the shop's core
(the recommender library imports nothing from storefront/).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.evaluate import score_groups
from recommender.lineup import ShopParams
from recommender.progress import bar
from recommender.segments import category_names
from recommender.serving import Model
from recommender.split import Group, Split
from recommender.train import train
from storefront.core.compose import compose
from storefront.core.plan import PagePlan
from storefront.core.ports import NoCache, NoExposures
from storefront.layouts import Layout, Slot
from storefront.rules.apply import Resolution

RAILS = (10, 20)  # the rail is built at each metric's length: @10 metrics, then Recall@20


def _catalog(split: Split):
    """The catalog as the shop had it at the split: products sold before it, with the prices,
    first sales and units of the training window, in the store's categories."""
    from storefront.catalog import Catalog, CategoryInfo, Product

    products = []
    for row in split.products.itertuples(index=False):
        first = None if pd.isna(row.first_sold) else pd.Timestamp(row.first_sold).to_pydatetime()
        products.append(
            Product(row.id, row.title, row.category, float(row.price), first, int(row.units_sold))
        )
    # the store's own categories, as the products frame names them (segments.category_names)
    names = category_names(split.products)
    counts = split.products["category"].value_counts()
    cats = [CategoryInfo(slug, names[slug], int(counts[slug])) for slug in sorted(names)]
    return Catalog(products, cats)


def _context(customer_id: str, country: str | None, views: list[str], split: Split, settings):
    """The context a signed-in customer arrives with at the split time."""
    from storefront.core.context import Consent, Context, SessionState
    from storefront.signals import Location, local_time
    from storefront.signals.channel import Channel
    from storefront.traits import infer, signal_fields

    now = split.date.to_pydatetime().replace(tzinfo=UTC)
    visitor = f"replay-{customer_id}"
    items = split.products.set_index("id")
    raw: dict[str, float] = {}
    for pid in views:  # the traits the session's views would have written
        if pid in items.index:
            row = items.loc[pid]
            for f, inc in signal_fields(
                "view", row["category"], row["band"], now.timestamp()
            ).items():
                raw[f] = raw.get(f, 0.0) + inc
    session = SessionState(
        visitor,
        views=tuple(views[:30]),
        version=len(views),
        customer_id=customer_id,
        first_seen=now.timestamp(),
        last_seen=now.timestamp(),
        traits_raw={k: str(v) for k, v in raw.items()},
    )
    return Context(
        visitor_id=visitor,
        new_visitor=not views,
        session=session,
        location=Location(country, source="header" if country else "none"),
        time=local_time(now, country, None, settings.store_timezone),
        device="desktop",
        channel=Channel("direct"),
        consent=Consent(),
        recency="returning",
        traits=infer(session.traits_raw, {}, now=now.timestamp()),
    )


KINDS = ("for_you", "blend", "als_plain", "buy_again")


def served_rail(ctx, snap, settings, params: dict, n: int) -> list[str]:
    """The for-you rail of n as a page serves it: the one plan (a layout of that one slot,
    no rules, no experiments) through the one compose and pipeline."""
    slot = Slot("for-you", "for_you", "Recommended for you", size=n, params=params)
    plan = PagePlan(
        "home", Layout("home", (slot,)), "replay", snap, Resolution(Layout("home", (slot,)))
    )
    composed = compose(plan, ctx, {}, settings, NoCache(), NoExposures())
    return [p.product_id for c in composed for p in c.picks]


def _lists(split: Split, group: Group, model: Model, snap, settings) -> dict[str, dict]:
    """For one group, per protocol ("groups": all purchases, "new_only": owned products left
    out): the served rail, the blend before page policies, plain ALS, and buy again (the
    customer's own products by repurchase.rank, topped up with popularity; all purchases only).
    Owned means the group's user_items row: training history, or the folded-in first order."""
    from recommender.repurchase import rank

    index = {pid: i for i, pid in enumerate(split.data.item_ids)}
    popular = [pid for pid, _ in model.popular("overall")]

    def ids(pids, owned=frozenset()) -> np.ndarray:
        row = [i for i in (index.get(p, -1) for p in pids) if i not in owned][:20]
        return np.array(row + [-1] * (20 - len(row)), dtype=np.int32)

    out = {kind: {"groups": ([], []), "new_only": ([], [])} for kind in KINDS}

    def add(kind: str, protocol: str, row: np.ndarray, row10: np.ndarray | None = None) -> None:
        out[kind][protocol][0].append(row[:10] if row10 is None else row10[:10])
        out[kind][protocol][1].append(row)

    m = group.user_items
    customers = bar(group.customer_ids, f"evaluate: {group.name} rails", unit="customer")
    for k, cid in enumerate(customers):
        owned = frozenset(m.indices[m.indptr[k] : m.indptr[k + 1]].tolist())
        owned_ids = [str(split.data.item_ids[i]) for i in owned]
        views = group.sessions[k] if group.sessions else []
        ctx = _context(cid, group.countries[k], views, split, settings)
        signals = ctx.session.signals()
        for protocol, params in (("groups", {}), ("new_only", {"new_only": True})):
            # a first order folded in is owned too: the rail is asked for that many more
            extra = len(owned) if protocol == "new_only" and views else 0
            drop = owned if protocol == "new_only" else frozenset()
            rails = []
            for n in RAILS:
                picks = served_rail(ctx, snap, settings, params, n + extra)
                rails.append(ids(picks, drop)[:n])
            row20 = np.concatenate([rails[1], np.full(20 - len(rails[1]), -1, dtype=np.int32)])
            add("for_you", protocol, row20, rails[0])
        vector = model.user_vector(cid, signals)
        plain = (
            [p for p, _ in model.recommend_vector(vector, 20 + len(owned))]
            if vector is not None
            else popular
        )
        blended = [p for p, _ in model.recommend_for(cid, signals, 20)] or popular
        fresh = [p for p, _ in model.recommend_for(cid, signals, 20, owned_ids, new_only=True)] or [
            p for p in popular if index.get(p) not in owned
        ]
        add("als_plain", "groups", ids(plain))
        add("als_plain", "new_only", ids(plain, owned))
        add("blend", "groups", ids(blended))
        add("blend", "new_only", ids(fresh, owned))
        again = [o.product_id for o, _ in rank(model.owned(cid), model.trending)]
        add("buy_again", "groups", ids(again + [p for p in popular if p not in set(again)]))
    return out


def evaluate_served(
    split: Split,
    shop: ShopParams | None = None,
    settings=None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict]:
    """Metrics of the served rail ("for_you"), the bare blend ("blend"), plain ALS through
    the serving code ("als_plain") and buy again, per group and protocol, on a model trained
    at the split."""
    from storefront.config import load_settings
    from storefront.core.snapshot import Snapshot

    say = progress or (lambda _msg: None)
    shop = shop or ShopParams()
    settings = settings or load_settings()
    with tempfile.TemporaryDirectory(prefix="storefront-eval-") as tmp:
        say("training a temporary model on the lines before the split (as storefront train)")
        started = time.perf_counter()
        report = train(
            split.train_lines,
            split.data.item_ids,
            Path(tmp),
            params=shop.als,
            trending_days=shop.trending_days,
            knn=shop.knn,
            blend=shop.blend,
            progress=say,
            publish=False,  # a temporary model: nothing is published
            catalog=split.products,
        )
        fit_seconds = time.perf_counter() - started
        model = Model(Path(tmp) / report.version)
        snap = Snapshot(_catalog(split), model)
        started = time.perf_counter()
        lists = {kind: {"groups": {}, "new_only": {}} for kind in KINDS}
        for name, group in split.groups.items():
            say(f"serving the for-you rail to {len(group):,} {name} customers")
            for kind, protocols in _lists(split, group, model, snap, settings).items():
                for protocol, pair in protocols.items():
                    lists[kind][protocol][name] = pair
        replay_seconds = time.perf_counter() - started
        del model, snap
    results = {}
    for kind, by_protocol in lists.items():
        results[kind] = {
            "fit_seconds": round(fit_seconds, 3),
            "replay_seconds": round(replay_seconds, 3),
            "groups": score_groups(split, by_protocol["groups"]),
        }
        if kind != "buy_again":  # with owned products left out, buy again is just popularity
            results[kind]["new_only"] = score_groups(split, by_protocol["new_only"], True)
    say(
        f"served for_you: NDCG@10 {results['for_you']['groups']['all']['ndcg@10']:.4f} (all "
        f"purchases), {results['for_you']['new_only']['all']['ndcg@10']:.4f} (new products "
        f"only); plain ALS {results['als_plain']['groups']['all']['ndcg@10']:.4f}; "
        f"replayed in {replay_seconds:.1f}s"
    )
    return results
