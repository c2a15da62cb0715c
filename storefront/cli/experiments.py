"""`storefront experiments …`: A/B/n experiments, as the studio creates, starts and reports them."""

from __future__ import annotations

import click

from storefront.cli import common


@click.group("experiments")
def experiments_group() -> None:
    """A/B/n experiments: create, start, stop, report (the studio does the same)."""


@experiments_group.command("create")
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
        exp = store.create(common.engine(common.settings()), spec)
    except ValidationError as exc:
        raise click.ClickException(store.problems(exc)[0]) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {exp.id} (draft): {', '.join(n for n, _, _ in exp.arms)}.")


@experiments_group.command("start")
@click.argument("experiment_id")
def experiments_start(experiment_id: str) -> None:
    from storefront.experiments import store

    try:
        store.start(common.engine(common.settings()), experiment_id)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'")) from None
    click.echo(f"Started {experiment_id}; workers pick it up within seconds.")


@experiments_group.command("stop")
@click.argument("experiment_id")
def experiments_stop(experiment_id: str) -> None:
    from storefront.experiments import store

    try:
        store.stop(common.engine(common.settings()), experiment_id)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'")) from None
    click.echo(f"Stopped {experiment_id}.")


@experiments_group.command("list")
def experiments_list() -> None:
    from storefront.experiments import store

    for e in store.list_all(common.engine(common.settings())):
        arms = ", ".join(f"{n}={v}:{s:g}" for n, s, v in e.arms)
        click.echo(f"{e.id}  {e.status}  {e.kind} {e.page}/{e.slot or '-'}  {e.metric}  [{arms}]")


@experiments_group.command("report")
@click.argument("experiment_id")
@click.option("--csv", "as_csv", is_flag=True, help="Per-arm results as CSV.")
def experiments_report(experiment_id: str, as_csv: bool) -> None:
    """Per-arm results, the comparison on the primary metric, and the decision it supports."""
    from storefront.experiments.report import report_rows, report_text

    settings = common.settings()
    engine = common.engine(settings)
    try:
        click.echo(
            report_rows(engine, experiment_id, settings.holdout_share)
            if as_csv
            else report_text(engine, experiment_id, settings.holdout_share)
        )
    except LookupError as exc:
        raise click.ClickException(str(exc).strip("'")) from None
