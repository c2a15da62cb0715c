"""`storefront serve`: the shop under gunicorn."""

from __future__ import annotations

import sys

import click

from storefront.cli import common


@click.command()
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
    help="open connections per worker (gevent and gthread; a worker at its cap stops accepting)",
)
def serve(
    host: str, port: int, workers: int, worker_class: str, threads: int, connections: int
) -> None:
    """Run the shop under gunicorn. Refuses a database whose schema is not current (run
    `storefront db upgrade` first), before starting anything."""
    from storefront import db
    from storefront.migrations import SchemaNotCurrent
    from storefront.server import run

    settings = common.settings()
    engine = db.make_engine(settings.effective_database_url)
    try:
        db.require_schema(engine)
    except SchemaNotCurrent as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    sys.exit(run(settings, host, port, workers, threads, worker_class, connections))
