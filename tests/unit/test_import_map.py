"""--map FIELD=COLUMN: one parser for every import command (orders, interactions, products)."""

from __future__ import annotations

import click
import pytest

from storefront.cli.imports import overrides


def test_map_items_become_fields_and_a_malformed_one_is_a_usage_error():
    assert overrides(("title = Name", "id=sku")) == {"title": "Name", "id": "sku"}
    for bad in ("title", "=sku", " =sku", "title= ", "title="):
        with pytest.raises(click.BadParameter, match="FIELD=COLUMN"):
            overrides((bad,))
