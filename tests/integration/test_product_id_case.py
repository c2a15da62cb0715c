"""One product, one id, whichever case an export writes it in (storefront/product_ids.py), on
the grocery test store (tests/stores/grocery.py) with its catalog's SKUs written in lower case
("sku-00030") and its orders as generated ("SKU-00030").

Old code: the order importer upper-cased product ids and the catalog importer kept them, so
such a store held every product twice: the catalog's, with its details and no sales, and the
order history's, with the sales and none of the details."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from storefront import db
from storefront.catalog_store import load_catalog
from storefront.product_ids import respell, spellings
from tests.conftest import run_cli
from tests.helpers import grocery_orders
from tests.stores.grocery import write_store


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("grocery-case")
    paths = write_store(out / "export", customers=120, days=90)
    catalog = pd.read_csv(paths["products"], dtype=str)
    catalog["id"] = catalog["id"].str.lower()
    catalog.to_csv(out / "products-lower.csv", index=False)
    return out, paths


def _env(home) -> dict:
    return {"STOREFRONT_DATABASE_URL": f"sqlite:///{home / 'storefront.db'}"}


def _ids(home) -> tuple[set[str], set[str], set[str]]:
    engine = db.make_engine(_env(home)["STOREFRONT_DATABASE_URL"])
    with engine.connect() as conn:
        lines = set(conn.execute(select(db.order_lines.c.product_id)).scalars())
        history = set(conn.execute(select(db.products.c.id)).scalars())
        catalog = set(conn.execute(select(db.catalog_items.c.id)).scalars())
    shop = load_catalog(engine)
    engine.dispose()
    assert set(shop.products) <= catalog | history
    return lines, history, catalog


def test_orders_imported_after_a_catalog_take_its_spelling(export, tmp_path):
    out, paths = export
    home = tmp_path / "shop"
    run_cli(home, "import", "products", str(out / "products-lower.csv"), env=_env(home))
    orders, args, _ = grocery_orders(paths["orders"])
    said = run_cli(home, "import", "orders", str(orders), *args, env=_env(home))
    assert "differ from the store's only in case" in said and "SKU-00" in said
    lines, history, catalog = _ids(home)
    assert lines and lines <= catalog  # every line is a catalog product: none twice
    assert history <= catalog
    assert all(pid == pid.lower() for pid in lines)


def test_a_catalog_imported_after_the_orders_takes_the_order_historys_spelling(
    export, tmp_path
):
    out, paths = export
    home = tmp_path / "shop"
    orders, args, _ = grocery_orders(paths["orders"])
    run_cli(home, "import", "orders", str(orders), *args, env=_env(home))
    said = run_cli(home, "import", "products", str(out / "products-lower.csv"), env=_env(home))
    assert "differ from the store's only in case" in said
    lines, history, catalog = _ids(home)
    assert history <= catalog and lines <= catalog
    # the catalog's products nobody ordered keep the catalog's own spelling
    assert any(pid.startswith("sku-") for pid in catalog - history)
    assert not any(pid.startswith("sku-") for pid in history)


def test_interactions_take_the_stores_spelling(export, tmp_path):
    out, paths = export
    home = tmp_path / "shop"
    run_cli(home, "import", "products", str(out / "products-lower.csv"), env=_env(home))
    skus = pd.read_csv(paths["products"], dtype=str)["id"].head(4)  # "SKU-...": upper case
    file = tmp_path / "views.csv"
    rows = [f"u{k},{sku},view,1704100000" for k in range(3) for sku in skus]
    file.write_text("visitor,item,event,ts\n" + "\n".join(rows) + "\n", encoding="utf-8")
    args = ["--map", "customer_id=visitor", "--map", "product_id=item", "--map", "type=event"]
    said = run_cli(home, "import", "interactions", str(file), *args, env=_env(home))
    assert "differ from the store's only in case" in said
    engine = db.make_engine(_env(home)["STOREFRONT_DATABASE_URL"])
    with engine.connect() as conn:
        stored = set(conn.execute(select(db.interactions.c.product_id)).scalars())
    engine.dispose()
    assert stored == {s.lower() for s in skus}


def test_two_spellings_the_store_holds_are_left_as_they_are():
    store = spellings(["sku-1", "SKU-1", "Sku-2"])
    assert store == {"SKU-2": "Sku-2"}  # "sku-1" and "SKU-1": no one spelling to assume
    ids, changed = respell(pd.Series(["SKU-1", "sku-1", "SKU-2", "sku-3"]), store)
    assert list(ids) == ["SKU-1", "sku-1", "Sku-2", "sku-3"]
    assert changed == {"SKU-2": "Sku-2"}
