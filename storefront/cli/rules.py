"""`storefront rules …`: export, import, validate, publish, versions, restore, conflicts.

YAML in and out so a team can keep its rules in git. An import is checked whole before anything
is written: a refused import changes nothing and exits non-zero with every problem listed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from storefront.cli.common import actor, settings_and_engine


def _env():
    from storefront.catalog_store import load_catalog

    settings, engine = settings_and_engine()
    catalog = load_catalog(engine)
    return settings, engine, catalog if len(catalog) else None


def _load(path: str, catalog):
    from storefront.rules import yamlio
    from storefront.rules.validate import RulesError

    try:
        text = _read(path, yamlio.MAX_BYTES)
        return yamlio.load(text, catalog)
    except RulesError as exc:
        click.echo(f"{path}: refused, nothing was changed:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None


def _read(path: str, limit: int) -> str:
    """The file's text, reading at most one byte past `limit` (a huge file is refused by size
    without being read whole). A missing, unreadable or non-UTF-8 file is a clear refusal."""
    from storefront.rules.validate import Problem, RulesError

    try:
        if path == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(path).open("rb") as fh:
                raw = fh.read(limit + 1)
    except OSError as exc:
        raise RulesError([Problem(None, "", f"cannot read the file: {exc.strerror}")]) from None
    if len(raw) > limit:
        raise RulesError([Problem(None, "", f"the document is larger than {limit // 1024} KiB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte {exc.start + 1}"
        raise RulesError([Problem(None, "", f"not UTF-8 text ({where})")]) from None


@click.group("rules")
def rules_group() -> None:
    """Merchandiser layout rules: YAML import/export, validation, publishing, versions."""


@rules_group.command("export")
@click.argument("path", default="-")
@click.option(
    "--version", "version", default=None, help="A published version (7 or v7); default: the draft."
)
@click.option("--published", is_flag=True, help="Export the version shoppers get now.")
def export_cmd(path: str, version: str | None, published: bool) -> None:
    """Write the draft (or a version) as YAML to PATH (default: standard output)."""
    from storefront.rules import store, yamlio

    _, engine, _ = _env()
    if published or version:
        v = (
            store.current(engine)
            if published and not version
            else store.get_version(engine, version or "")
        )
        if v is None:
            raise click.ClickException("no such version" if version else "nothing is published yet")
        text = yamlio.dump(v.ruleset, f"version {v.label}")
    else:
        text = yamlio.dump(store.draft(engine), "draft")
    if path == "-":
        click.echo(text, nl=False)
    else:
        Path(path).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {path}.", err=True)


@rules_group.command("validate")
@click.argument("path")
def validate_cmd(path: str) -> None:
    """Check a YAML file without changing anything; list conflicts too."""
    from storefront.rules.conflicts import find_conflicts

    _, _, catalog = _env()
    ruleset = _load(path, catalog)
    n = len(ruleset.rules)
    click.echo(f"{path}: {n} rules, valid.")
    found = find_conflicts(ruleset.rules, catalog)
    for c in found:
        click.echo(f"  conflict: {c.message()}")
    if not found:
        click.echo(f"No conflicts found among the {n} rule{'s' if n != 1 else ''}.")


@rules_group.command("import")
@click.argument("path")
@click.option("--publish", "then_publish", is_flag=True, help="Publish right after importing.")
@click.option("--note", default=None, help="A note for the published version.")
def import_cmd(path: str, then_publish: bool, note: str | None) -> None:
    """Replace the draft with a YAML file (all of it, or nothing if any rule is invalid)."""
    from storefront.rules import store

    _, engine, catalog = _env()
    ruleset = _load(path, catalog)
    diff = store.replace_draft(engine, actor(), ruleset, "import")
    click.echo(f"Draft replaced: {len(ruleset.rules)} rules ({diff.count(chr(10))} diff lines).")
    if then_publish:
        _publish(engine, catalog, note)


def _publish(engine, catalog, note):
    from storefront.rules import store
    from storefront.rules.validate import RulesError

    try:
        v = store.publish(engine, actor(), note, catalog)
    except (store.StoreError, RulesError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Published {v.label} ({len(v.ruleset.rules)} rules); workers pick it up within seconds."
    )


@rules_group.command("publish")
@click.option("--note", default=None, help="What changed, for the history.")
def publish_cmd(note: str | None) -> None:
    """Publish the draft as a new version."""
    _, engine, catalog = _env()
    _publish(engine, catalog, note)


@rules_group.command("versions")
def versions_cmd() -> None:
    """List published versions, newest (live) first."""
    from storefront.rules import store

    _, engine, _ = _env()
    for i, v in enumerate(store.versions(engine)):
        mark = "*" if i == 0 else " "
        note = f"  {v.note}" if v.note else ""
        when = f"{v.created:%Y-%m-%d %H:%M}"
        click.echo(f"{mark} {v.label}  {when}  {v.created_by}  {len(v.ruleset.rules)} rules{note}")


@rules_group.command("restore")
@click.argument("version")
def restore_cmd(version: str) -> None:
    """Publish an earlier VERSION again (the draft is reset to it)."""
    from storefront.rules import store

    _, engine, _ = _env()
    try:
        v = store.restore(engine, actor(), version)
    except store.StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Published {v.label}, a copy of version {v.restored_from}.")


@rules_group.command("conflicts")
def conflicts_cmd() -> None:
    """List conflicts in the draft and which rule wins each."""
    from storefront.rules import store
    from storefront.rules.conflicts import find_conflicts

    _, engine, catalog = _env()
    rules = store.draft(engine).rules
    found = find_conflicts(rules, catalog)
    for c in found:
        click.echo(c.message())
    if not found:
        n = len(rules)
        click.echo(f"No conflicts found among the {n} rule{'s' if n != 1 else ''} of the draft.")
