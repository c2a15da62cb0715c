"""`storefront models …`: list, publish, roll back and show model versions."""

from __future__ import annotations

import json

import click

from storefront.cli import common


@click.group("models")
def models_group() -> None:
    """List, publish and roll back model versions."""


@models_group.command("list")
def models_list() -> None:
    from recommender import registry

    settings = common.settings()
    now = registry.current(settings.models_dir)
    for version in registry.versions(settings.models_dir):
        meta = registry.read_meta(settings.models_dir, version)
        mark = "*" if version == now else " "
        metrics = f"  {json.dumps(meta['metrics'])}" if meta.get("metrics") else ""
        click.echo(
            f"{mark} {version}  {json.dumps(meta['counts'])}  {meta['train_seconds']}s{metrics}"
        )


@models_group.command("publish")
@click.argument("version")
def models_publish(version: str) -> None:
    from recommender import registry

    settings, engine = common.settings_and_engine()
    try:
        _clean(settings, engine, version)
        registry.publish(settings.models_dir, version)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _share(settings, engine, version)
    click.echo(f"Published {version}.")


@models_group.command("rollback")
def models_rollback() -> None:
    from recommender import registry

    settings, engine = common.settings_and_engine()
    try:
        version = registry.previous(settings.models_dir)
        _clean(settings, engine, version)
        registry.publish(settings.models_dir, version)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _share(settings, engine, version)
    click.echo(f"Rolled back to {version}.")


def _clean(settings, engine, version: str) -> None:
    """Everyone in the deletion ledger out of a kept version before it is served again; a
    version that cannot be cleaned is refused (ValueError, with why)."""
    from storefront import model_forget

    try:
        gone = model_forget.make_servable(engine, settings.models_dir, version)
    except model_forget.NotServable as exc:
        raise ValueError(str(exc)) from None
    if gone:
        click.echo(f"Took {gone} deleted people out of {version} before serving it.")


def _share(settings, engine, version: str) -> None:
    """Store the version in the database (if not there yet) and publish it there, so every
    node follows (storefront/model_store.py)."""
    from storefront import model_store

    model_store.publish(engine, settings.models_dir, version)


@models_group.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the version's meta.json only.")
def models_show_cmd(version: str, as_json: bool) -> None:
    """Print what training fitted on this store for VERSION, and the validation behind it."""
    from recommender import registry
    from recommender.describe import describe

    root = common.settings().models_dir
    if version not in registry.versions(root):
        raise click.ClickException(
            f"no model version {version!r}; `storefront models list` shows them"
        )
    meta = registry.read_meta(root, version)
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    for line in describe(meta):
        click.echo(line)
