"""`storefront holdout report`: the personalized shop against the permanent holdout, as the
studio's holdout page shows it (storefront/experiments/holdout.py)."""

from __future__ import annotations

import json

import click

from storefront.cli import common


@click.group("holdout")
def holdout_group() -> None:
    """The permanent holdout: does personalization pay?"""


@holdout_group.command("report")
@click.option("--days", default=None, help="The last N days (default 30).")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="First day.")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day (included).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="The studio's CSV download.")
def holdout_report(days, start, end, as_json: bool, as_csv: bool) -> None:
    """Click-through, conversion and revenue per visitor, personalized vs holdout, with 95%
    intervals and sample sizes, over a period of event times (UTC)."""
    from storefront.experiments import holdout

    try:
        window = holdout.period(days, start, end)
    except holdout.PeriodError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[1], param_hint=f"--{exc.field}") from None
    settings, engine = common.settings_and_engine()
    report = holdout.build(engine, window, settings.holdout_share)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    elif as_csv:
        click.echo(report.csv(), nl=False)
    else:
        click.echo(report.text())
