"""`storefront snapshot token`: QA snapshot tokens that pin a page's clock, model, rules, arms."""

from __future__ import annotations

import click

from storefront.cli import common


@click.group("snapshot")
def snapshot_group() -> None:
    """QA snapshots: pages that hold still."""


@snapshot_group.command("token")
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
    from storefront.shared_secret import with_secret

    settings, engine = common.settings_and_engine()
    settings = with_secret(settings, engine)  # the nodes' own: theirs verify it
    try:
        pinned = dict(a.split("=", 1) for a in arms if "=" in a)
        pin = pin_from(
            {"clock": clock, "model": model, "rules": rules, "seed": seed, "arms": pinned}
        )
    except SnapshotError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(make_token(settings.secret_key, pin))
