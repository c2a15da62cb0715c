"""A second test store of another kind: a seeded generator for a grocery and household shop.

Nothing here resembles the demo store (UK gift wholesaler, 2010-2011): another taxonomy with
three levels joined by " > ", brands, prices in euros, unix-second timestamps, customers in
several countries, and staples that each customer re-buys on their own cycle. Customers also
have lasting tastes (a vegetarian buys no meat, a parent buys baby products), so a model that
learns from behaviour can beat popularity on it.

    python -m tests.stores.grocery OUT_DIR [--seed N] [--customers N] [--days N]

writes OUT_DIR/products.csv (the catalog) and OUT_DIR/orders.csv (order lines). The same seed
always writes the same bytes.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

# top level -> second level -> third level leaves, each leaf with product stems
TAXONOMY: dict[str, dict[str, dict[str, list[str]]]] = {
    "Fresh Food": {
        "Fruit & Veg": {
            "Fruit": ["Apples", "Bananas", "Pears", "Grapes", "Blueberries", "Oranges"],
            "Vegetables": ["Carrots", "Broccoli", "Spinach", "Tomatoes", "Peppers", "Onions"],
        },
        "Meat & Fish": {
            "Meat": ["Chicken Breast", "Beef Mince", "Pork Sausages", "Lamb Chops", "Bacon"],
            "Fish": ["Salmon Fillet", "Cod Loin", "Prawns", "Tuna Steak"],
        },
        "Dairy": {
            "Milk": ["Whole Milk", "Semi-Skimmed Milk", "Oat Drink", "Soya Drink"],
            "Cheese": ["Cheddar", "Mozzarella", "Feta", "Gouda"],
        },
    },
    "Pantry": {
        "Breakfast": {
            "Cereal": ["Corn Flakes", "Granola", "Porridge Oats", "Muesli"],
            "Spreads": ["Peanut Butter", "Strawberry Jam", "Honey", "Chocolate Spread"],
        },
        "Cooking": {
            "Pasta & Rice": ["Spaghetti", "Penne", "Basmati Rice", "Risotto Rice"],
            "Tins": ["Chopped Tomatoes", "Chickpeas", "Kidney Beans", "Coconut Milk"],
        },
        "Vegetarian": {
            "Meat-free": ["Tofu", "Bean Burgers", "Veggie Sausages", "Tempeh", "Falafel"],
        },
    },
    "Household": {
        "Cleaning": {
            "Laundry": ["Washing Powder", "Fabric Softener", "Stain Remover"],
            "Surfaces": ["Multi-Surface Spray", "Bleach", "Glass Cleaner"],
        },
        "Paper": {
            "Paper Goods": ["Toilet Roll", "Kitchen Roll", "Tissues"],
        },
    },
    "Baby & Kids": {
        "Baby": {
            "Nappies": ["Nappies Size 3", "Nappies Size 4", "Baby Wipes"],
            "Baby Food": ["Fruit Puree", "Baby Porridge", "Rice Cakes"],
        },
    },
    "Drinks": {
        "Hot Drinks": {
            "Coffee": ["Ground Coffee", "Coffee Beans", "Instant Coffee"],
            "Tea": ["Breakfast Tea", "Green Tea", "Herbal Tea"],
        },
        "Soft Drinks": {
            "Juice": ["Orange Juice", "Apple Juice"],
            "Water": ["Sparkling Water", "Still Water"],
        },
    },
}

BRANDS = ["Verdant", "Hofgut", "Blue Harbour", "Nordlicht", "Casa Sol", "Everyday", "Kleen"]
SIZES = ["small", "medium", "large", "family"]
COUNTRIES = ["DE", "FR", "NL", "AT", "BE"]
# tastes: a customer holds some of these for good; each biases what they buy
TASTES = {
    "vegetarian": {"avoid": {"Meat", "Fish"}, "like": {"Meat-free", "Vegetables", "Cheese"}},
    "parent": {"avoid": set(), "like": {"Nappies", "Baby Food", "Fruit", "Juice"}},
    "coffee": {"avoid": set(), "like": {"Coffee", "Spreads", "Milk"}},
    "cook": {"avoid": set(), "like": {"Pasta & Rice", "Tins", "Vegetables", "Meat"}},
    "clean": {"avoid": set(), "like": {"Laundry", "Surfaces", "Paper Goods"}},
}
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    path: tuple[str, str, str]
    brand: str
    price: float
    available: bool
    hidden: bool
    launch: datetime
    size: str
    organic: bool


def make_catalog(rng: np.random.Generator) -> list[Product]:
    """About 300 products: each stem in two or three brands and sizes."""
    products: list[Product] = []
    n = 0
    for top, seconds in TAXONOMY.items():
        for second, leaves in seconds.items():
            for leaf, stems in leaves.items():
                for stem in stems:
                    for brand in rng.choice(BRANDS, size=int(rng.integers(2, 4)), replace=False):
                        n += 1
                        size = str(rng.choice(SIZES))
                        organic = bool(rng.random() < 0.25)
                        products.append(
                            Product(
                                sku=f"SKU-{n:05d}",
                                title=f"{brand} {'Organic ' if organic else ''}{stem} ({size})",
                                path=(top, second, leaf),
                                brand=str(brand),
                                price=round(float(rng.uniform(0.6, 14.0)), 2),
                                available=bool(rng.random() > 0.04),
                                hidden=bool(rng.random() < 0.02),
                                launch=START - timedelta(days=int(rng.integers(0, 700))),
                                size=size,
                                organic=organic,
                            )
                        )
    return products


def make_orders(
    rng: np.random.Generator, products: list[Product], customers: int, days: int
) -> list[dict]:
    """Order lines: each customer has tastes, a few staples on personal cycles, and extras."""
    by_leaf: dict[str, list[int]] = {}
    for i, p in enumerate(products):
        by_leaf.setdefault(p.path[2], []).append(i)
    popularity = rng.zipf(1.6, size=len(products)).astype(float)
    popularity = np.minimum(popularity, 50.0)
    sellable = np.array([p.available and not p.hidden for p in products])
    lines: list[dict] = []
    order_no = 100000
    end = START + timedelta(days=days)
    for c in range(customers):
        cust = f"{c + 1:06d}"
        country = str(rng.choice(COUNTRIES, p=[0.4, 0.2, 0.2, 0.1, 0.1]))
        tastes = [t for t in TASTES if rng.random() < 0.3] or [str(rng.choice(list(TASTES)))]
        avoid = set().union(*(TASTES[t]["avoid"] for t in tastes))
        like = set().union(*(TASTES[t]["like"] for t in tastes))
        weights = popularity.copy()
        for i, p in enumerate(products):
            if p.path[2] in avoid or p.path[1] in avoid:
                weights[i] = 0.0
            elif p.path[2] in like or p.path[1] in like:
                weights[i] *= 12.0
        weights[~sellable] *= 0.05
        weights /= weights.sum()
        staples = rng.choice(len(products), size=int(rng.integers(2, 6)), replace=False, p=weights)
        cycles = rng.integers(7, 35, size=len(staples))
        t = START + timedelta(days=float(rng.uniform(0, days * 0.3)))
        while t < end:
            basket: dict[int, int] = {}
            days_in = (t - START).days
            for s, cycle in zip(staples, cycles, strict=True):
                if (days_in % int(cycle)) < 7 or rng.random() < 0.15:
                    basket[int(s)] = int(rng.integers(1, 4))
            for extra in rng.choice(len(products), size=int(rng.integers(1, 5)), p=weights):
                basket.setdefault(int(extra), int(rng.integers(1, 3)))
            order_no += 1
            when = t + timedelta(hours=float(rng.uniform(7, 21)))
            for i, qty in basket.items():
                p = products[i]
                lines.append(
                    {
                        "order_id": f"O{order_no}",
                        "sku": p.sku,
                        "product_name": p.title,
                        "qty": qty,
                        "unit_price": f"{p.price:.2f}",
                        "created": int(when.timestamp()),
                        "customer": cust if rng.random() > 0.03 else "",
                        "country_code": country,
                    }
                )
            # returns: now and then a negative quantity of something just bought
            if rng.random() < 0.02 and basket:
                i = next(iter(basket))
                lines.append({**lines[-1], "sku": products[i].sku, "qty": -1})
            t += timedelta(days=float(rng.exponential(9.0)) + 1.0)
    lines.sort(key=lambda row: (row["created"], row["order_id"]))
    return lines


def catalog_rows(products: list[Product]) -> list[dict]:
    return [
        {
            "id": p.sku,
            "title": p.title,
            "description": f"{p.title}: {p.path[2].lower()} from {p.brand}.",
            "category": " > ".join(p.path),
            "brand": p.brand,
            "price": f"{p.price:.2f}",
            "currency": "EUR",
            "image_url": f"https://images.example.test/{p.sku.lower()}.jpg",
            "available": "yes" if p.available else "no",
            "launch_date": p.launch.date().isoformat(),
            "hidden": "true" if p.hidden else "false",
            "pack_size": p.size,
            "organic": "yes" if p.organic else "no",
        }
        for p in products
    ]


def write_store(out: Path, seed: int = 7, customers: int = 600, days: int = 240) -> dict[str, Path]:
    """Write products.csv and orders.csv under `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    products = make_catalog(rng)
    orders = make_orders(rng, products, customers, days)
    paths = {"products": out / "products.csv", "orders": out / "orders.csv"}
    for key, rows in (("products", catalog_rows(products)), ("orders", orders)):
        with paths[key].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=600)
    parser.add_argument("--days", type=int, default=240)
    args = parser.parse_args()
    paths = write_store(args.out, args.seed, args.customers, args.days)
    for key, path in paths.items():
        print(f"{key}: {path}")


if __name__ == "__main__":
    main()
