"""The `storefront` command: demo, import orders, train, evaluate, tune, models, serve.

Long steps print progress. Training always happens in the command's own process, never in the
server, because implicit's OpenMP pool does not survive gunicorn's fork.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from storefront.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _engine(settings: Settings):
    from storefront import db

    engine = db.make_engine(settings.effective_database_url)
    db.create_schema(engine)
    return engine


def _say(message: str) -> None:
    click.echo(f"  {time.strftime('%H:%M:%S')}  {message}")


@click.group()
def main() -> None:
    """Storefront: a shop that builds every page for the person looking at it."""


@main.command()
@click.option("--force", is_flag=True, help="Re-import and retrain even if the demo is loaded.")
def demo(force: bool) -> None:
    """Load the bundled demo store (UCI Online Retail) and train a model. Safe to run twice."""
    from recommender import registry
    from storefront.importer import load_demo

    settings = _settings()
    engine = _engine(settings)
    if force or not _demo_loaded(engine):
        click.echo("Importing the demo store (UCI Online Retail, CC BY 4.0, Dr Daqing Chen)...")
        from storefront.progress import ImportProgress

        progress = ImportProgress()
        try:
            report = load_demo(
                engine, progress=progress, source_tz=settings.store_timezone, bar=progress.bar
            )
        finally:
            progress.close()
        for line in report.lines():
            click.echo("  " + line)
    else:
        click.echo("Demo store already imported (use --force to re-import).")
    if force or registry.current(settings.models_dir) is None:
        _train(settings, engine)
    else:
        click.echo(f"Model {registry.current(settings.models_dir)} already published.")


def _demo_loaded(engine) -> bool:
    from sqlalchemy import func, select

    from storefront import db

    with engine.connect() as conn:
        products = conn.execute(select(func.count()).select_from(db.products)).scalar_one()
        runs = conn.execute(select(db.import_runs.c.source)).scalars().all()
    return products > 0 and any("online_retail" in r for r in runs)


@main.group("import")
def import_group() -> None:
    """Import data into the shop."""


def _register_import_commands() -> None:
    """`storefront import orders|interactions` live with the importers they drive."""
    from storefront.import_commands import interactions_cmd, orders_cmd

    import_group.add_command(orders_cmd)
    import_group.add_command(interactions_cmd)


_register_import_commands()


def _train(
    settings: Settings,
    engine,
    with_events: bool = False,
    evaluate: bool = False,
    shop=None,
) -> None:
    import pandas as pd

    from recommender.commands import quick_metrics, read_orders, shop_params
    from recommender.train import train
    from storefront.interactions import read_pairs

    shop = shop or shop_params(settings)
    _say("reading order lines")
    lines, products = read_orders(engine)
    imported = read_pairs(engine)
    if lines.empty and imported.empty:
        raise click.ClickException(
            "The store has no order lines or interactions to train on. Import some first: "
            "`storefront import orders FILE` or `storefront import interactions FILE` "
            "(or `storefront demo` for the demo shop)."
        )
    if products.empty:
        raise click.ClickException(
            "The store has no products, so there is nothing to recommend. Import orders "
            "(`storefront import orders FILE`) or the catalog first."
        )
    extra = imported if not imported.empty else None
    if extra is not None:
        _say(f"{len(imported):,} imported (shopper, product) interaction pairs")
    if with_events:
        from recommender import event_log

        events, identities = event_log.read(engine)
        logged = event_log.interactions(events, identities)
        _say(f"{len(events):,} events in the log -> {len(logged):,} (shopper, product) pairs")
        extra = logged if extra is None else pd.concat([extra, logged], ignore_index=True)
    metrics = None
    if evaluate and lines.empty:
        raise click.ClickException("--evaluate measures on order history; this store has none.")
    if evaluate:
        metrics = quick_metrics(lines, products, shop, settings, _say)
    report = train(
        lines,
        products["id"].tolist(),
        settings.models_dir,
        params=shop.als,
        trending_days=shop.trending_days,
        progress=_say,
        knn=shop.knn,
        blend=shop.blend,
        extra=extra,
        metrics=metrics,
        source="+".join(
            ["orders"]
            + (["interactions"] if not imported.empty else [])
            + (["events"] if with_events else [])
        ),
        products=products,
    )
    click.echo(
        f"Model {report.version}: {report.users:,} customers, {report.items:,} products, "
        f"{report.interactions:,} interactions, {report.seconds:.1f}s"
        + (", published." if report.published else ".")
    )


@main.command("train")
@click.option(
    "--with-events",
    is_flag=True,
    help="Add the shop's own event log (views, clicks, carts, purchases) to the orders.",
)
@click.option(
    "--evaluate",
    "evaluate",
    is_flag=True,
    help="Also measure these parameters on the temporal split and record it with the version.",
)
def train_cmd(with_events: bool, evaluate: bool) -> None:
    """Train a model on the imported orders and publish it (workers swap it in within seconds)."""
    settings = _settings()
    _train(settings, _engine(settings), with_events=with_events, evaluate=evaluate)


def _register_catalog_commands() -> None:
    """`storefront import products` lives with the catalog import it drives."""
    from storefront.catalog_commands import products_cmd

    import_group.add_command(products_cmd)


_register_catalog_commands()


@main.group()
def models() -> None:
    """List, publish and roll back model versions."""


@models.command("list")
def models_list() -> None:
    from recommender import registry

    settings = _settings()
    now = registry.current(settings.models_dir)
    for version in registry.versions(settings.models_dir):
        meta = registry.read_meta(settings.models_dir, version)
        mark = "*" if version == now else " "
        metrics = f"  {json.dumps(meta['metrics'])}" if meta.get("metrics") else ""
        click.echo(
            f"{mark} {version}  {json.dumps(meta['counts'])}  {meta['train_seconds']}s{metrics}"
        )


@models.command("publish")
@click.argument("version")
def models_publish(version: str) -> None:
    from recommender import registry

    try:
        registry.publish(_settings().models_dir, version)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Published {version}.")


@models.command("rollback")
def models_rollback() -> None:
    from recommender import registry

    try:
        click.echo(f"Rolled back to {registry.rollback(_settings().models_dir)}.")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def experiments() -> None:
    """A/B/n experiments: create, start, stop, report (the studio does the same)."""


@experiments.command("create")
@click.argument("experiment_id")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["strategy", "model", "rules"]), default="strategy")
@click.option("--page", default="home", show_default=True)
@click.option("--slot", default=None)
@click.option(
    "--arm",
    "arms",
    multiple=True,
    required=True,
    metavar="NAME=VALUE:SHARE",
    help="e.g. control=for_you:0.5 (repeat; the first arm is the control)",
)
@click.option(
    "--metric",
    default="ctr",
    show_default=True,
    type=click.Choice(["ctr", "add_to_cart_rate", "conversion", "revenue_per_visitor"]),
)
def experiments_create(experiment_id, name, kind, page, slot, arms, metric) -> None:
    from pydantic import ValidationError

    from storefront.experiments import store

    parsed = []
    for a in arms:
        arm_name, _, rest = a.partition("=")
        value, _, share = rest.rpartition(":")
        try:
            parsed.append({"name": arm_name, "value": value, "share": float(share)})
        except ValueError:
            raise click.BadParameter(
                f"expected NAME=VALUE:SHARE, got {a!r}", param_hint="--arm"
            ) from None
    try:
        spec = store.ExperimentSpec(
            id=experiment_id, name=name, kind=kind, page=page, slot=slot, arms=parsed, metric=metric
        )
        exp = store.create(_engine(_settings()), spec)
    except ValidationError as exc:
        raise click.ClickException(store.problems(exc)[0]) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {exp.id} (draft): {', '.join(n for n, _, _ in exp.arms)}.")


@experiments.command("start")
@click.argument("experiment_id")
def experiments_start(experiment_id: str) -> None:
    from storefront.experiments import store

    try:
        store.start(_engine(_settings()), experiment_id)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'")) from None
    click.echo(f"Started {experiment_id}; workers pick it up within seconds.")


@experiments.command("stop")
@click.argument("experiment_id")
def experiments_stop(experiment_id: str) -> None:
    from storefront.experiments import store

    try:
        store.stop(_engine(_settings()), experiment_id)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'")) from None
    click.echo(f"Stopped {experiment_id}.")


@experiments.command("list")
def experiments_list() -> None:
    from storefront.experiments import store

    for e in store.list_all(_engine(_settings())):
        arms = ", ".join(f"{n}={v}:{s:g}" for n, s, v in e.arms)
        click.echo(f"{e.id}  {e.status}  {e.kind} {e.page}/{e.slot or '-'}  {e.metric}  [{arms}]")


@experiments.command("report")
@click.argument("experiment_id")
@click.option("--csv", "as_csv", is_flag=True, help="Per-arm results as CSV.")
def experiments_report(experiment_id: str, as_csv: bool) -> None:
    """Per-arm results, the comparison on the primary metric, and the decision it supports."""
    from storefront.experiments.report import report_rows, report_text

    settings = _settings()
    engine = _engine(settings)
    try:
        click.echo(
            report_rows(engine, experiment_id, settings.holdout_share)
            if as_csv
            else report_text(engine, experiment_id, settings.holdout_share)
        )
    except LookupError as exc:
        raise click.ClickException(str(exc).strip("'")) from None


@main.group()
def snapshot() -> None:
    """QA snapshots: pages that hold still."""


@snapshot.command("token")
@click.option("--clock", required=True, help="UTC or offset time, e.g. 2011-12-05T19:30:00+00:00")
@click.option("--model", default=None, help="Model version to pin (default: the current one)")
@click.option("--rules", default=None, help="Rules version to pin")
@click.option("--seed", default="qa", show_default=True, help="Exploration seed")
@click.option(
    "--arm",
    "arms",
    multiple=True,
    metavar="EXPERIMENT=ARM",
    help="Pin an experiment arm (repeat); experiments not named are off",
)
def snapshot_token(
    clock: str, model: str | None, rules: str | None, seed: str, arms: tuple[str, ...]
) -> None:
    """Print a signed token; send it as X-Storefront-Snapshot (or ?snapshot=) to pin a page."""
    from storefront.qa_snapshot import SnapshotError, make_token, pin_from

    settings = _settings()
    try:
        pinned = dict(a.split("=", 1) for a in arms if "=" in a)
        pin = pin_from(
            {"clock": clock, "model": model, "rules": rules, "seed": seed, "arms": pinned}
        )
    except SnapshotError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(make_token(settings.secret_key, pin))


@main.group()
def apikeys() -> None:
    """API keys for server-to-server callers of /api/v1."""


@apikeys.command("create")
@click.argument("name")
@click.option("--per-minute", default=600, show_default=True, type=click.IntRange(1, 1_000_000))
def apikeys_create(name: str, per_minute: int) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from storefront.api import keys

    click.echo(keys.create(_engine(_settings()), name, per_minute))


@apikeys.command("list")
def apikeys_list() -> None:
    from storefront.api import keys

    for k in keys.list_keys(_engine(_settings())):
        state = f"revoked {k['revoked']:%Y-%m-%d}" if k["revoked"] else "active"
        click.echo(f"{k['id']}  {k['name']}  {k['per_minute']}/min  {state}")


@apikeys.command("revoke")
@click.argument("key_id")
def apikeys_revoke(key_id: str) -> None:
    from storefront.api import keys

    if not keys.revoke(_engine(_settings()), key_id):
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"Revoked {key_id}.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--worker-class",
    default="gevent",
    show_default=True,
    type=click.Choice(["gevent", "gthread", "sync"]),
    help="gevent: one greenlet per connection, so slow clients cannot starve the others",
)
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="gthread only"
)
@click.option(
    "--connections",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="open connections per worker (gevent only)",
)
def serve(
    host: str, port: int, workers: int, worker_class: str, threads: int, connections: int
) -> None:
    """Run the shop under gunicorn."""
    from storefront.server import run

    settings = _settings()
    sys.exit(run(settings, host, port, workers, threads, worker_class, connections))


def _register_studio_commands() -> None:
    """`storefront rules …` and `storefront users …` live with the code they drive."""
    from storefront.accounts_commands import customers_group
    from storefront.admin.commands import users_group
    from storefront.rules.commands import rules_group

    main.add_command(rules_group)
    main.add_command(users_group)
    main.add_command(customers_group)


_register_studio_commands()


def _register_recommender_commands() -> None:
    """`storefront evaluate` and `storefront tune` live with the recommender they measure."""
    from recommender.commands import evaluate_cmd, models_show_cmd, tune_cmd

    main.add_command(evaluate_cmd)
    main.add_command(tune_cmd)
    models.add_command(models_show_cmd)


_register_recommender_commands()

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
