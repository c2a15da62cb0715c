"""`storefront demo`: the bundled demo store, imported and trained once."""

from __future__ import annotations

import click

from storefront.cli import common
from storefront.cli.train import train_model


@click.command()
@click.option("--force", is_flag=True, help="Re-import and retrain even if the demo is loaded.")
def demo(force: bool) -> None:
    """Load the bundled demo store (UCI Online Retail) and train a model. Safe to run twice."""
    from recommender import registry
    from storefront.importer import load_demo

    settings = common.settings()
    engine = common.engine(settings)
    if force or not _demo_loaded(engine):
        click.echo("Importing the demo store (UCI Online Retail, CC BY 4.0, Dr Daqing Chen)...")
        from storefront.progress import ImportProgress

        progress = ImportProgress()
        try:
            report = load_demo(
                engine, progress=progress, source_tz=settings.store_timezone, bar=progress.bar
            )
        finally:
            progress.close()
        for line in report.lines():
            click.echo("  " + line)
    else:
        click.echo("Demo store already imported (use --force to re-import).")
    if force or registry.current(settings.models_dir) is None:
        train_model(settings, engine)
    else:
        click.echo(f"Model {registry.current(settings.models_dir)} already published.")


def _demo_loaded(engine) -> bool:
    from sqlalchemy import func, select

    from storefront import db

    with engine.connect() as conn:
        products = conn.execute(select(func.count()).select_from(db.products)).scalar_one()
        runs = conn.execute(select(db.import_runs.c.source)).scalars().all()
    return products > 0 and any("online_retail" in r for r in runs)
