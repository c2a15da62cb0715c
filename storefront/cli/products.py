"""`storefront import products`: the command in front of storefront/catalog_import.py.
storefront/cli/__init__.py registers it in the `import` group. A bad file, a bad mapping or a
refused import is one printable message and exit status 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import click

from storefront.cli.common import settings_and_engine
from storefront.cli.imports import overrides  # the one --map FIELD=COLUMN parser


@click.command("products")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Map a field (id, title, description, category, brand, price, currency, image_url, "
    "available, stock, launch_date, hidden) to a column of the file; repeatable.",
)
@click.option("--append", is_flag=True, help="Upsert these products; retire none.")
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
@click.option(
    "--separator", default=" > ", show_default=True, help="Between levels of a category path."
)
@click.option(
    "--max-reject-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.2,
    show_default=True,
    help="Refuse the file if more than this share of its rows would be rejected.",
)
def products_cmd(
    path: Path,
    mapping: tuple[str, ...],
    append: bool,
    dry_run: bool,
    separator: str,
    max_reject_share: float,
) -> None:
    """Import the store's catalog (CSV, Parquet or JSON Lines): categories, descriptions,
    brands, images, availability. Without --append the file is the whole catalog and products
    it no longer lists are retired. A refused file changes nothing."""
    from storefront.catalog_import import CatalogImportError, import_catalog
    from storefront.model_holder import mark_catalog_changed

    fields = overrides(mapping)
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    settings, engine = settings_and_engine()
    try:
        plan = import_catalog(
            engine,
            path,
            fields,
            append=append,
            dry_run=dry_run,
            separator=separator,
            max_reject_share=max_reject_share,
        )
    except CatalogImportError as exc:
        raise click.ClickException(f"import refused, nothing changed: {exc}") from None
    for line in plan.lines(dry_run=dry_run):
        click.echo("  " + line)
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    mark_catalog_changed(settings.models_dir)
    click.echo("Running shops serve the new catalog within a few seconds.")
