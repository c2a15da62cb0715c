"""`storefront evaluate` and `storefront tune`, with the helpers `storefront train` shares.

The commands live with the code they drive; storefront/cli.py registers them. Each runs in the
command's own process, which trains models and never forks afterwards.
"""

from __future__ import annotations

import json
import sys
import time

import click


def read_orders(engine):
    """Order lines and the catalog's products (id, title, category, currency, category_name),
    as frames."""
    import pandas as pd
    from sqlalchemy import func, select

    from storefront import db

    with engine.connect() as conn:
        lines = pd.read_sql(
            select(
                db.order_lines.c.invoice,
                db.order_lines.c.product_id,
                db.order_lines.c.customer_id,
                db.order_lines.c.quantity,
                db.order_lines.c.price,
                db.order_lines.c.ts,
                db.order_lines.c.country,
            ),
            conn,
        )
        # an imported catalog's titles, categories and prices win over those derived from order
        # lines (the shop does the same: storefront/catalog.py), so models and segments see them
        # too; its brand feeds LightFM's product features (cold.py)
        item = db.catalog_items
        products = pd.read_sql(
            select(
                db.products.c.id,
                func.coalesce(item.c.title, db.products.c.title).label("title"),
                func.coalesce(item.c.category, db.products.c.category).label("category"),
                func.coalesce(item.c.price, db.products.c.price).label("price"),
                item.c.brand,
            ).select_from(db.products.outerjoin(item, item.c.id == db.products.c.id)),
            conn,
        )
        # the catalog's currency (the amounts segments describe), which products it lists, and
        # the names of the store's categories (segments are named after them)
        listed = dict(conn.execute(select(item.c.id, item.c.currency)).all())
        names = dict(conn.execute(select(db.categories.c.slug, db.categories.c.name)).all())
        taxonomy = dict(
            conn.execute(select(db.catalog_categories.c.slug, db.catalog_categories.c.name)).all()
        )
    products["currency"] = products["id"].map(listed)
    if listed:  # the catalog's taxonomy is the store's (as in the shop): else uncategorised
        from storefront.catalog import UNCATEGORISED

        slug, name = UNCATEGORISED
        known = products["id"].isin(set(listed)) & products["category"].isin(set(taxonomy))
        products.loc[~known, "category"] = slug
        names = {**taxonomy, slug: name}
    products["category_name"] = products["category"].map(names)
    return lines, products


def shop_params(settings):
    """The shop's training parameters: what `storefront tune --publish` chose, else defaults."""
    from dataclasses import replace

    from recommender import registry
    from recommender.lineup import ShopParams

    saved = registry.read_params(settings.models_dir)
    shop = ShopParams.from_dict(saved) if saved else ShopParams()
    return replace(shop, trending_days=settings.trending_days)


def quick_metrics(lines, products, shop, settings, say) -> dict:
    """NDCG@10 of these parameters on the default temporal split, for the registry."""
    from recommender.evaluate import run

    say("evaluating these parameters on the temporal split")
    result = run(lines, products, None, ("popularity", "als"), shop, True, settings, say)
    pick = {
        "popularity": result["models"]["popularity"],
        "als": result["served"]["als_plain"],
        "for_you": result["served"]["for_you"],
    }
    return {
        "split_date": result["split_date"],
        **{
            f"{name}_ndcg@10_{group}": round(entry["groups"][group]["ndcg@10"], 4)
            for name, entry in pick.items()
            for group in ("all", "new")
        },
    }


def describe(meta: dict) -> list[str]:
    """A model version's fitted numbers in words, with the validation figures that chose them."""
    fitted = meta.get("fitted")
    out = [
        f"Version {meta['version']}: trained on {meta['window']['start']} to "
        f"{meta['window']['end']}, {json.dumps(meta['counts'])}",
    ]
    if not fitted:
        return out + ["Nothing fitted on this store (a version from before per-store fitting)."]
    val = fitted.get("validation", {})
    if val.get("date"):
        out.append(
            f"Validation split {val['date']} inside the training window: "
            f"{val.get('returning_customers', 0):,} returning and "
            f"{val.get('new_customers', 0):,} new customers after it."
        )
    for title, key, serve, weights in (
        ("For you (all purchases)", "all_purchases_ndcg@10", "serve", "weights"),
        ("For you (new products only)", "new_only_ndcg@10", "serve_new", "new_weights"),
    ):
        out.append(f"{title}: serving {fitted[serve]}")
        if key in val:
            out.append(
                "  validation NDCG@10: "
                + ", ".join(f"{name} {score:.4f}" for name, score in val[key].items())
            )
        if fitted[weights]:
            out.append(
                "  weights: " + ", ".join(f"{k} {v:+.3f}" for k, v in fitted[weights].items())
            )
    session = fitted.get("session")
    if session:  # visitors with only a session (session_fit.py); absent in older versions
        out.append(
            f"Visitors with only a session: serving {session['serve']} (the session's products: "
            f"{session['session_products']}; new products only: {session['serve_new']})"
        )
        for key, label in (("all_purchases_ndcg", "all purchases"), ("new_only_ndcg", "new")):
            if key in session:
                out.append(
                    f"  validation NDCG@10 ({label}): "
                    + ", ".join(f"{k} {v:.4f}" for k, v in session[key].items())
                )
    out.append(f"First-time visitors: the {fitted['first_visit']} list")
    if "first_visit_ndcg@10" in val:
        out.append(
            "  validation NDCG@10: "
            + ", ".join(f"{k} {v:.4f}" for k, v in val["first_visit_ndcg@10"].items())
        )
    if fitted.get("repeat_share") is not None:
        again = val.get("bought_again_share")
        out.append(
            f"Repeat share: {fitted['repeat_share']:.3f} of later orders' lines re-order"
            + (
                f"; {again:.3f} of what validation customers bought next they owned"
                if again is not None
                else ""
            )
        )
    share = fitted.get("explore_share")
    out.append(
        f"Exploration share: {share:.3f} (bought next from categories new to the customer), "
        "at most STOREFRONT_EXPLORE_SHARE"
        if share is not None
        else "Exploration share: STOREFRONT_EXPLORE_SHARE (not fitted)"
    )
    for part, title in (
        ("cold_products", "products nobody bought"),
        ("cold_visitors", "first visits"),
    ):
        cold = fitted.get("lightfm", {}).get(part)
        if cold and "ndcg@10" in cold:
            out.append(
                f"LightFM for {title}: {'served' if cold['serve'] else 'not served'} "
                f"({cold['customers']:,} validation customers; NDCG@10 "
                + ", ".join(f"{k} {v:.4f}" for k, v in cold["ndcg@10"].items())
                + ")"
            )
    out += [f"Note: {note}" for note in fitted.get("notes", [])]
    return out


@click.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the version's meta.json only.")
def models_show_cmd(version: str, as_json: bool) -> None:
    """Print what training fitted on this store for VERSION, and the validation behind it."""
    from recommender import registry
    from storefront.cli import _settings

    root = _settings().models_dir
    if version not in registry.versions(root):
        raise click.ClickException(
            f"no model version {version!r}; `storefront models list` shows them"
        )
    meta = registry.read_meta(root, version)
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    for line in describe(meta):
        click.echo(line)


@click.command("evaluate")
@click.option(
    "--split-date",
    default=None,
    help="Train before, test from this date "
    "(default: the start of the data's last tenth, e.g. 2011-11-01).",
)
@click.option(
    "--models",
    "model_names",
    default=None,
    help="Comma-separated subset of: popularity, popularity_country, popularity_recent, "
    "als, bpr, lightfm, item_knn, ease (default: all).",
)
@click.option("--no-served", is_flag=True, help="Skip the replay of the served for-you rail.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON only.")
def evaluate_cmd(
    split_date: str | None, model_names: str | None, no_served: bool, as_json: bool
) -> None:
    """Measure every model and the served for-you rail on a temporal split; write a report."""
    from datetime import UTC, datetime

    from recommender import progress, report
    from recommender.evaluate import run
    from recommender.lineup import MODEL_NAMES

    progress.quiet(as_json)
    names = (
        tuple(n.strip() for n in model_names.split(",") if n.strip())
        if model_names
        else MODEL_NAMES
    )
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(MODEL_NAMES)}",
            param_hint="--models",
        )
    from storefront.cli import _engine, _say, _settings

    settings = _settings()
    engine = _engine(settings)
    say = (
        (lambda m: click.echo(f"  {time.strftime('%H:%M:%S')}  {m}", err=True)) if as_json else _say
    )
    lines, products = read_orders(engine)
    if lines.empty:
        raise click.ClickException("no order lines to evaluate on: import orders first")
    try:
        result = run(
            lines, products, split_date, names, shop_params(settings), not no_served, settings, say
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    out = settings.home / "reports" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = "storefront evaluate " + " ".join(sys.argv[2:])
    path = report.write(result, out, command.strip())
    result["report"] = str(path)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for protocol, what in report.PROTOCOLS.items():
        for group in ("all", "returning", "new", "new_session"):
            click.echo(f"\n{report.GROUP_TITLES[group]}, {what}:")
            click.echo(report.table(result, group, protocol=protocol))
    for protocol, what in report.PROTOCOLS.items():
        click.echo(f"\nThe served for-you rail against the baselines (NDCG@10), {what}:")
        click.echo(report.comparison_table(result, protocol))
    click.echo("")
    for key, value in result["targets"].items():
        click.echo(f"{key}: {value}")
    click.echo(f"Report: {path} ({result['seconds']:.1f}s)")


@click.command("tune")
@click.option(
    "--budget",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1, 86400),
    help="Seconds to search for.",
)
@click.option(
    "--split-date",
    default=None,
    help="The test split to keep unseen (default as "
    "for evaluate); tuning validates on an equal window before it.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--publish",
    is_flag=True,
    help="Keep the best parameters for every later "
    "training, train on all the data with them and publish the model.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON only.")
def tune_cmd(
    budget: float, split_date: str | None, seed: int, publish: bool, as_json: bool
) -> None:
    """Search ALS, neighbour and blend parameters on a validation split within a time budget."""
    from contextlib import redirect_stdout

    from recommender import progress, registry
    from recommender.lineup import ShopParams
    from recommender.tune import tune
    from storefront.cli import _engine, _say, _settings

    progress.quiet(as_json)
    settings = _settings()
    engine = _engine(settings)
    say = (
        (lambda m: click.echo(f"  {time.strftime('%H:%M:%S')}  {m}", err=True)) if as_json else _say
    )
    lines, products = read_orders(engine)
    if lines.empty:
        raise click.ClickException("no order lines to tune on: import orders first")
    start = shop_params(settings)
    try:
        result = tune(lines, products, budget, split_date, start, seed, say)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if publish:  # under --json its progress goes to stderr: stdout is the one JSON document
        registry.write_params(settings.models_dir, result["best"])
        from storefront.cli import _train

        with redirect_stdout(sys.stderr if as_json else sys.stdout):
            _train(settings, engine, shop=ShopParams.from_dict(result["best"]))
        result["published"] = registry.current(settings.models_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{result['trials']} trials in {result['seconds']:.0f}s on the validation split "
        f"{result['validation_split']}: NDCG@10 {result['best_ndcg@10']:.4f} "
        f"(the current parameters: {result['start_ndcg@10']:.4f})"
    )
    click.echo("Best parameters: " + json.dumps(result["best"]))
    if publish:
        click.echo(f"Model {result['published']} trained with them and published.")
