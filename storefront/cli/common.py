"""What every command group shares: the settings, the database engine, progress lines and the
actor named in the audit log. Public names, so command modules never reach into each other."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable

import click

from storefront.config import ConfigError, Settings, load_settings


def settings() -> Settings:
    """The shop's settings; a bad variable is one printable message, not a traceback."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def engine(settings: Settings):
    """The shop's database engine, its schema migrated to this release's head first (Alembic;
    a fresh store needs no set-up). Every command that opens the store does this; only the
    server refuses an old schema instead (`storefront db upgrade`)."""
    from storefront import db

    engine = db.make_engine(settings.effective_database_url)
    db.create_schema(engine)
    return engine


def settings_and_engine() -> tuple[Settings, object]:
    """Both, for the commands that need the two."""
    current = settings()
    return current, engine(current)


def say(message: str) -> None:
    """A timestamped progress line on stdout."""
    click.echo(f"  {time.strftime('%H:%M:%S')}  {message}")


def progress_printer(as_json: bool) -> Callable[[str], None]:
    """say(), or the same lines on stderr where stdout is one JSON document."""
    if not as_json:
        return say
    return lambda m: click.echo(f"  {time.strftime('%H:%M:%S')}  {m}", err=True)


def actor() -> str:
    """Who ran the command, as the audit log names them."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"
