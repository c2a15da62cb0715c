"""`storefront import orders` and `storefront import interactions`, and what every import
command shares: the FILE argument and --map, the guard options (--max-reject-share, --force,
--dry-run, --json), progress on stderr, and one printable message with exit status 1 for a bad
file, a bad mapping or a refused import. storefront/cli/__init__.py registers the commands.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import click

from storefront.cli.common import settings_and_engine


def overrides(mapping: tuple[str, ...]) -> dict[str, str]:
    """--map FIELD=COLUMN items as a dict; a malformed one is a usage error."""
    out: dict[str, str] = {}
    for item in mapping:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(f"expected FIELD=COLUMN, got {item!r}", param_hint="--map")
        out[field.strip()] = column.strip()
    return out


@dataclass(frozen=True)
class ImportRun:
    """What every import command is told: the file, its mapping, and the guard's options."""

    path: Path
    mapping: dict[str, str]
    append: bool
    date_order: str | None
    max_reject_share: float
    force: bool
    dry_run: bool
    as_json: bool


def import_command(name: str, fields: str, append_help: str):
    """Declare an import command: FILE, --map, --append, --date-order and the guard options
    (--max-reject-share, --force, --dry-run, --json), passed to the callback as one ImportRun
    (keyword `run`) next to the command's own options."""

    def decorate(func):
        @functools.wraps(func)
        def callback(path, mapping, append, date_order, max_reject_share, force, dry_run,
                     as_json, **own):  # fmt: skip
            run = ImportRun(
                path, overrides(mapping), append, date_order, max_reject_share, force, dry_run,
                as_json,
            )  # fmt: skip
            return func(run=run, **own)

        options = [
            click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option(
                "--map",
                "mapping",
                multiple=True,
                metavar="FIELD=COLUMN",
                help=f"Map a field ({fields}) to a column of the file; repeatable.",
            ),
            click.option("--append", is_flag=True, help=append_help),
            click.option(
                "--date-order",
                type=click.Choice(["dmy", "mdy"]),
                default=None,
                help="How to read dates that parse both ways (03/04/2011): day- or month-first.",
            ),
            click.option(
                "--max-reject-share",
                type=click.FloatRange(0.0, 1.0),
                default=0.5,
                show_default=True,
                help="Refuse the import if more than this share of rows would be rejected.",
            ),
            click.option(
                "--force", is_flag=True, help="Import even if no rows or too many would load."
            ),
            click.option("--dry-run", is_flag=True, help="Read and check; write nothing."),
            click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
        ]
        for option in reversed(options):
            callback = option(callback)
        return click.command(name)(callback)

    return decorate


def import_errors():
    """ImportFileError, MappingError and ImportRefused: one printable message, exit 1."""
    from storefront.cleaning import MappingError
    from storefront.importer import ImportFileError, ImportRefused

    return ImportFileError, MappingError, ImportRefused


def run_import(importer, run: ImportRun, then: str, **options) -> None:
    """Run one import with progress on stderr (none for --json); a bad file, mapping or
    refusal becomes one printable message and exit status 1."""
    from storefront.progress import ImportProgress
    from storefront.tables import printable

    settings, engine = settings_and_engine()
    progress = ImportProgress(quiet=run.as_json)
    try:
        report = importer(
            engine,
            run.path,
            mapping_overrides=run.mapping,
            replace=not run.append,
            progress=progress,
            bar=progress.bar,
            source_tz=settings.store_timezone,
            date_order=run.date_order,
            max_reject_share=run.max_reject_share,
            force=run.force,
            dry_run=run.dry_run,
            **options,
        )
    except (*import_errors(), ValueError) as exc:
        raise click.ClickException(printable(str(exc))) from None
    finally:
        progress.close()
    print_report(report, run.as_json, then)


def print_report(report, as_json: bool, then: str) -> None:
    """The report on stdout: its lines, or with --json the report as one JSON object."""
    from dataclasses import asdict

    from storefront.tables import printable

    if as_json:
        click.echo(json.dumps(asdict(report), default=str, sort_keys=True))
        return
    for line in report.lines():
        click.echo("  " + printable(line))
    if not report.dry_run:
        click.echo(then)


@import_command(
    "orders",
    "invoice, product_id, title, quantity, price, ts, customer_id, country",
    "Add to the store instead of replacing it.",
)
@click.option(
    "--cancel-prefix",
    default=None,
    metavar="TEXT",
    help="Invoices starting with TEXT are cancellations (the demo export's 'C'). Negative "
    "quantities are cancellations regardless.",
)
def orders_cmd(run: ImportRun, cancel_prefix: str | None) -> None:
    """Import order lines from CSV, TSV, JSON Lines, Parquet or .xlsx; print what was loaded
    and rejected. A replace that would load no rows, or reject too many, changes nothing."""
    from storefront.importer import import_orders

    then = "Run `storefront train` to train a model on the new data."
    run_import(import_orders, run, then, cancel_prefix=cancel_prefix)


@import_command(
    "interactions",
    "customer_id, product_id, type, ts, value",
    "Add to the stored interactions instead of replacing them.",
)
@click.option(
    "--type",
    "default_type",
    type=click.Choice(["view", "click", "add_to_cart", "rating", "purchase"]),
    default=None,
    help="The type of every row, for a file without a type column.",
)
@click.option(
    "--weight",
    "weight_items",
    multiple=True,
    metavar="TYPE=WEIGHT",
    help="Weight of a type in orders (defaults: purchase 1, rating 1, add_to_cart 0.5, "
    "click 0.25, view 0.1); repeatable.",
)
@click.option(
    "--rating-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="The top of the rating scale (default: the highest rating in the file).",
)
def interactions_cmd(
    run: ImportRun,
    default_type: str | None,
    weight_items: tuple[str, ...],
    rating_scale: float | None,
) -> None:
    """Import views, clicks, add-to-carts, ratings or purchases from another system, so that a
    shop without order history can train a model. Replaces the stored interactions (never the
    orders) unless --append."""
    from storefront.interactions import import_interactions

    weights: dict[str, float] = {}
    for item in weight_items:
        kind, _, value = item.partition("=")
        try:
            weights[kind.strip()] = float(value)  # no "=": float("") fails too
        except ValueError:
            raise click.BadParameter(
                f"expected TYPE=WEIGHT, got {item!r}", param_hint="--weight"
            ) from None
    run_import(
        import_interactions,
        run,
        "Run `storefront train` to train a model with them.",
        default_type=default_type,
        weight_overrides=weights,
        rating_scale=rating_scale,
    )
