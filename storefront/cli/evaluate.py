"""`storefront evaluate` and `storefront tune`: measure the models and the served rail on a
temporal split, and search the training parameters. Each runs in the command's own process,
which trains models and never forks afterwards."""

from __future__ import annotations

import json
import sys

import click

from storefront.cli import common
from storefront.cli.train import served_replay, shop_params, train_model


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
    from storefront.training_data import read_orders

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
    settings, engine = common.settings_and_engine()
    say = common.progress_printer(as_json)
    lines, products = read_orders(engine)
    if lines.empty:
        raise click.ClickException("no order lines to evaluate on: import orders first")
    try:
        replay = None if no_served else served_replay(settings)
        result = run(lines, products, split_date, names, shop_params(settings), replay, say)
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
    from storefront.training_data import read_orders

    progress.quiet(as_json)
    settings, engine = common.settings_and_engine()
    say = common.progress_printer(as_json)
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
        with redirect_stdout(sys.stderr if as_json else sys.stdout):
            train_model(settings, engine, shop=ShopParams.from_dict(result["best"]))
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
