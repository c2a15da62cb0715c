"""The `storefront` command: demo, import, train, evaluate, tune, models, serve, db, and the
studio's groups. One module per command group (storefront/cli/*.py); this one only assembles
them, and common.py holds what they share. Nothing here imports a command module back: no cycles.

Long steps print progress. Training always happens in the command's own process, never in the
server, because implicit's OpenMP pool does not survive gunicorn's fork.
"""

from __future__ import annotations

import click

from storefront.cli.apikeys import apikeys_group
from storefront.cli.customers import customers_group
from storefront.cli.db import db_group
from storefront.cli.demo import demo
from storefront.cli.evaluate import evaluate_cmd, tune_cmd
from storefront.cli.experiments import experiments_group
from storefront.cli.holdout import holdout_group
from storefront.cli.imports import interactions_cmd, orders_cmd
from storefront.cli.models import models_group
from storefront.cli.privacy import privacy_group
from storefront.cli.products import products_cmd
from storefront.cli.rules import rules_group
from storefront.cli.serve import serve
from storefront.cli.snapshot import snapshot_group
from storefront.cli.train import train_cmd
from storefront.cli.users import users_group

__all__ = ["main"]


@click.group()
def main() -> None:
    """Storefront: a shop that builds every page for the person looking at it."""


@click.group("import")
def import_group() -> None:
    """Import data into the shop."""


for _command in (orders_cmd, interactions_cmd, products_cmd):
    import_group.add_command(_command)

for _command in (
    demo,
    import_group,
    train_cmd,
    models_group,
    experiments_group,
    holdout_group,
    snapshot_group,
    apikeys_group,
    serve,
    rules_group,
    users_group,
    customers_group,
    db_group,
    privacy_group,
    evaluate_cmd,
    tune_cmd,
):
    main.add_command(_command)
