"""`storefront db`: the database's schema by Alembic revisions (storefront/migrations).

`upgrade` is what an operator runs after installing a release, before starting the shop's nodes
(a node refuses a schema that is not current); `current` says where a database stands;
`downgrade` goes back to a revision, for tests and for undoing a release by hand. Commands that
load data (import, train, demo) upgrade the store themselves, so a fresh shop needs no set-up.
"""

from __future__ import annotations

import click

from storefront.cli import common


def _engine():
    from storefront import db

    return db.make_engine(common.settings().effective_database_url)


@click.group("db")
def db_group() -> None:
    """The database's schema: upgrade, current, downgrade."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade_cmd(revision: str) -> None:
    """Migrate the database up to REVISION (default: this release's head)."""
    from storefront import migrations

    engine = _engine()
    try:
        before = migrations.describe(engine)
        migrations.upgrade(engine, revision)
        click.echo(f"was: {before}")
        click.echo(f"now: {migrations.describe(engine)}")
    finally:
        engine.dispose()


@db_group.command("current")
def current_cmd() -> None:
    """Print the database's schema revision, and whether it is this release's head."""
    from storefront import migrations

    engine = _engine()
    try:
        click.echo(migrations.describe(engine))
    finally:
        engine.dispose()


@db_group.command("downgrade")
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading can drop tables and columns. Go on?")
def downgrade_cmd(revision: str) -> None:
    """Migrate the database down to REVISION ("base" drops every table)."""
    from storefront import migrations

    engine = _engine()
    try:
        migrations.downgrade(engine, revision)
        click.echo(f"now: {migrations.describe(engine)}")
    except RuntimeError as exc:  # a revision that refuses (e.g. events it would merge)
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
