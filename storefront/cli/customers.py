"""`storefront customers …`: give customers a password (one by one, or from a file), and make
an identity-provider sign-in token (for testing an integration)."""

from __future__ import annotations

import sys

import click

from storefront.cli.common import engine, settings


@click.group("customers")
def customers_group() -> None:
    """How customers sign in to the shop (passwords are stored hashed)."""


@customers_group.command("set-password")
@click.argument("customer_id")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def set_password_cmd(customer_id: str, password_stdin: bool) -> None:
    """Set a customer's password; prompted for, never given as an argument."""
    from storefront import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = accounts.set_password(engine(settings()), customer_id, password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'Created' if created else 'Updated'} the account of customer {customer_id}.")


@customers_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
def import_cmd(path: str) -> None:
    """Import accounts from a CSV: customer_id, email (optional), password or password_hash.
    A file with any bad row is refused whole and changes nothing."""
    from storefront import accounts

    try:
        created, updated = accounts.import_file(engine(settings()), path)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{created} accounts created, {updated} updated.")


@customers_group.command("token")
@click.argument("customer_id")
@click.option("--seconds", default=300, show_default=True, type=click.IntRange(1, 600))
def token_cmd(customer_id: str, seconds: int) -> None:
    """Print a sign-in token for /account/sso (needs STOREFRONT_IDENTITY_SECRET)."""
    from storefront import signin_token

    secret = settings().identity_secret
    if not secret:
        raise click.ClickException("STOREFRONT_IDENTITY_SECRET: not set")
    try:
        click.echo(signin_token.make(secret, customer_id, seconds))
    except signin_token.TokenError as exc:
        raise click.ClickException(str(exc)) from None
