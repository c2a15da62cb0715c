"""`storefront users …`: create the studio's users (the first one too), list, change, remove."""

from __future__ import annotations

import sys

import click

from storefront.admin.users import ROLES
from storefront.cli.common import actor, engine, settings


def _engine():
    return engine(settings())


def _audit(engine, action: str, target: str, diff: str) -> None:
    from storefront.rules.store import record

    record(engine, actor(), action, target, diff)


@click.group("users")
def users_group() -> None:
    """Users of the merchandiser studio (/admin)."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def create_cmd(username: str, role: str, password_stdin: bool) -> None:
    """Create a studio user; the password is prompted for (never given as an argument)."""
    from storefront.admin import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = _engine()
    try:
        user = users.create(engine, username, password, role)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    _audit(engine, "user-create", user.username, f"+ {user.username} ({user.role})")
    click.echo(f"Created {user.username} ({user.role}).")


@users_group.command("list")
def list_cmd() -> None:
    from storefront.admin import users

    for u in users.all_users(_engine()):
        seen = (
            f"last sign-in {u['last_login']:%Y-%m-%d %H:%M}"
            if u["last_login"]
            else "never signed in"
        )
        click.echo(f"{u['username']}  {u['role']}  {seen}")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def set_role_cmd(username: str, role: str) -> None:
    from storefront.admin import users

    engine = _engine()
    try:
        users.set_role(engine, username, role)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    _audit(engine, "user-role", username, f"+ {username} ({role})")
    click.echo(f"{username} is now {role}.")


@users_group.command("remove")
@click.argument("username")
def remove_cmd(username: str) -> None:
    from storefront.admin import users

    engine = _engine()
    try:
        users.remove(engine, username)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    _audit(engine, "user-remove", username, f"- {username}")
    click.echo(f"Removed {username}.")
