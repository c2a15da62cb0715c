"""Products nobody has bought reach the shop through the real imports: a catalog's products
that never sold, and products a catalog lists after the training, are placed by LightFM from
their features (recommender/cold.py, ColdModel.describe) where the store's training kept
LightFM for cold products, without another training.

Old code: the version's item space came from the order history, so a product only the catalog
listed had no LightFM vector and never reached a rail (test_cold_rails.py put its unsold
products into the order history's products table by hand)."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.helpers import products_in
from tests.integration.test_cold_rails import _env, cold_shop
from tests.unit.test_cold import _catalog, _late, _store

MAPPING = ("invoice", "product_id", "title", "quantity", "price", "ts", "customer_id", "country")
WHEN = "qa_time=2011-12-30T10:00"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The synthetic kitchen-and-garden store of tests/unit/test_cold.py: its orders and its
    whole catalog (16 products of which nobody bought) imported as a shop owner would, then
    trained."""
    home = tmp_path_factory.mktemp("cold-catalog")
    catalog = _catalog()  # lower case; imported after the orders, it takes their spelling
    lines = _store("kind").merge(catalog[["id", "title"]], left_on="product_id", right_on="id")
    lines["customer_id"] = "c" + lines["customer_id"]
    lines[list(MAPPING)].to_csv(home / "orders.csv", index=False)
    catalog.to_csv(home / "products.csv", index=False)
    env = _env(home)
    args = [f"--map={field}={field}" for field in MAPPING]
    run_cli(home, "import", "orders", str(home / "orders.csv"), *args, env=env)
    run_cli(home, "import", "products", str(home / "products.csv"), env=env)
    run_cli(home, "train", env=env)
    return home


@pytest.fixture
def shop(home, embedded_redis_url):
    yield from cold_shop(home, embedded_redis_url)


def _unsold(client, country: str, marker: str) -> list[str]:
    html = client.get(f"/?qa_country={country}&{WHEN}").get_data(True)
    return [p for p in products_in(html, "new-arrivals") if marker in p]


def test_a_catalogs_never_sold_products_reach_the_visitors_they_suit(shop):
    client = shop.test_client()
    gb, de = _unsold(client, "GB", "fresh"), _unsold(client, "DE", "fresh")
    assert [p[0] for p in gb[:3]] == ["a"] * 3, gb
    assert [p[0] for p in de[:3]] == ["b"] * 3, de
    assert not any(p.startswith("g") for p in gb + de)  # the gadgets suit nobody here


def test_a_product_listed_after_the_training_is_served_without_another_training(home, shop):
    before = (home / "models" / "CURRENT").read_text()
    late = _late().head(2)  # (the third has no price: the shop could not sell it)
    late.to_csv(home / "late.csv", index=False)
    run_cli(home, "import", "products", str(home / "late.csv"), "--append", env=_env(home))
    snap = shop.extensions["models"].reload()  # a worker notices the catalog stamp
    assert (home / "models" / "CURRENT").read_text() == before  # no new version
    assert {"alate", "blate"} <= set(snap.catalog.products)
    client = shop.test_client()
    gb, de = _unsold(client, "GB", "late"), _unsold(client, "DE", "late")
    assert "alate" in gb and "blate" not in gb, gb
    assert "blate" in de and "alate" not in de, de
    # the rail's reasons say what it is
    html = client.get(f"/?qa_country=GB&{WHEN}").get_data(True)
    assert "New in the shop, picked for you" in html
