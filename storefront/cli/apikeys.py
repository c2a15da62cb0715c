"""`storefront apikeys …`: keys for server-to-server callers of /api/v1."""

from __future__ import annotations

import click

from storefront.cli import common


@click.group("apikeys")
def apikeys_group() -> None:
    """API keys for server-to-server callers of /api/v1."""


@apikeys_group.command("create")
@click.argument("name")
@click.option("--per-minute", default=600, show_default=True, type=click.IntRange(1, 1_000_000))
def apikeys_create(name: str, per_minute: int) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from storefront.api import keys

    click.echo(keys.create(common.engine(common.settings()), name, per_minute))


@apikeys_group.command("list")
def apikeys_list() -> None:
    from storefront.api import keys

    for k in keys.list_keys(common.engine(common.settings())):
        state = f"revoked {k['revoked']:%Y-%m-%d}" if k["revoked"] else "active"
        click.echo(f"{k['id']}  {k['name']}  {k['per_minute']}/min  {state}")


@apikeys_group.command("revoke")
@click.argument("key_id")
def apikeys_revoke(key_id: str) -> None:
    from storefront.api import keys

    if not keys.revoke(common.engine(common.settings()), key_id):
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"Revoked {key_id}.")
