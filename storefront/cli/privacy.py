"""`storefront privacy delete|audit VISITOR`: forget a person (a visitor id or a customer id)
the way /me's "Delete my data" does, and look for anything of them left in the database, in
Redis and in every kept model version (storefront/privacy.py, storefront/model_forget.py,
storefront/privacy_audit.py)."""

from __future__ import annotations

import json

import click

from storefront.cli.common import settings_and_engine

REDIS_TIMEOUT = 5.0  # seconds per call: an operator's SCAN over a big store, not a page


def _clients(settings):
    """The session store and the cache, as the shop connects to them (the embedded servers
    under the shop's home when no URL is set)."""
    from storefront.redis_client import connect, start_embedded

    url = settings.redis_url or start_embedded(settings.home)
    cache_url = settings.cache_redis_url or (
        url if settings.redis_url else start_embedded(settings.home, "cache")
    )
    r = connect(url, REDIS_TIMEOUT, "session store")
    return r, (r if cache_url == url else connect(cache_url, REDIS_TIMEOUT, "cache"))


@click.group("privacy")
def privacy_group() -> None:
    """Delete a person's data, and check that nothing of them is left."""


# a visitor id is a URL-safe token, and one in 64 begins with "-": `storefront privacy audit
# -Rx…` takes it as the identifier, not as an unknown option (`--` before it works too)
_AN_ID_MAY_START_WITH_A_DASH = {"ignore_unknown_options": True}


@privacy_group.command("delete", context_settings=_AN_ID_MAY_START_WITH_A_DASH)
@click.argument("identifier")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def delete_cmd(identifier: str, as_json: bool) -> None:
    """Delete everything of the person behind IDENTIFIER (a visitor id or a customer id, with
    every visitor id stitched to them): their rows, Redis keys and live events, their entries
    in every kept model version (served or kept for a rollback, on disk and in the database),
    and record them in the deletion ledger, which every later training honours."""
    from storefront import privacy

    identifier = identifier.strip()
    if not identifier:
        raise click.UsageError("VISITOR: give a visitor id or a customer id")
    settings, engine = settings_and_engine()
    r, cache = _clients(settings)
    done = privacy.delete_identifier(engine, r, identifier, cache, settings.models_dir)
    if as_json:
        click.echo(json.dumps(done, indent=1, sort_keys=True))
        return
    who = ", ".join([*(f"customer {c}" for c in done["customer_ids"]), *done["visitor_ids"]])
    rows = sum(done["rows"].values())
    click.echo(
        f"Deleted {who}: {rows} rows, {done['keys']} Redis keys, "
        f"{done['stream_entries']} live events."
    )
    models = done["model_versions"]
    rewritten = sorted({*models["disk"], *models["database"]})
    click.echo(
        "Model versions rewritten without them: "
        + (", ".join(rewritten) if rewritten else "none held them")
        + "."
    )
    for version, why in sorted(models["refused"].items()):
        click.echo(
            f"Model {version} could not be cleaned ({why}): it is refused for a rollback; "
            "train a new model (`storefront train`) before serving another.",
            err=True,
        )
    click.echo(
        "Recorded in the deletion ledger: every later training leaves them out "
        f"(`storefront privacy audit -- {identifier}` checks what is left)."
    )


@privacy_group.command("audit", context_settings=_AN_ID_MAY_START_WITH_A_DASH)
@click.argument("identifier")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def audit_cmd(identifier: str, as_json: bool) -> None:
    """Scan the database, Redis and the served model's id maps for IDENTIFIER (a visitor id or a
    customer id) and print what is there. Exit 0: nothing found; 1: data in the database or
    Redis; 2: only the served model holds the id (until the next training)."""
    from storefront.privacy_audit import audit

    identifier = identifier.strip()
    if not identifier:
        raise click.UsageError("VISITOR: give a visitor id or a customer id")
    settings, engine = settings_and_engine()
    r, cache = _clients(settings)
    found = audit(engine, r, identifier, settings.models_dir, cache)
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=1, sort_keys=True))
    else:
        click.echo("\n".join(found.lines()))
    raise SystemExit(found.exit_code)
