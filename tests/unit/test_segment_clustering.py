"""Micro-segments: obvious groups in a hand-made order history are found and named in words,
and two trainings on the same data put every customer in the same segment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender import segments
from recommender.serving import Model
from recommender.train import train

PRODUCTS = pd.DataFrame(
    {
        "id": [f"X{i}" for i in range(6)] + [f"K{i}" for i in range(6)],
        "title": [f"CHRISTMAS THING {i}" for i in range(6)] + [f"MUG {i}" for i in range(6)],
        "category": ["christmas"] * 6 + ["kitchen-dining"] * 6,
    }
)


def history(seed: int = 1) -> pd.DataFrame:
    """40 Christmas wholesalers (few, big orders) and 40 kitchen regulars (many small ones)."""
    rng = np.random.default_rng(seed)
    rows, invoice = [], 500000
    start = pd.Timestamp("2011-01-03")
    for c in range(80):
        xmas = c < 40
        for _order in range(2 if xmas else 8):
            invoice += 1
            day = start + pd.Timedelta(days=int(rng.integers(0, 300)))
            for p in rng.choice(6, size=3, replace=False):
                rows.append(
                    {
                        "invoice": str(invoice),
                        "product_id": f"{'X' if xmas else 'K'}{p}",
                        "customer_id": str(13000 + c),
                        "quantity": int(rng.integers(100, 200) if xmas else rng.integers(1, 4)),
                        "price": 2.5,
                        "ts": day,
                        "country": "United Kingdom" if c % 4 else "Germany",
                    }
                )
    return pd.DataFrame(rows)


def test_obvious_groups_are_found_and_described():
    found, member = segments.build(history(), PRODUCTS, k=2)
    assert [s.size for s in found] == [40, 40]
    by_id = {s.id: s for s in found}
    assert set(by_id) == {"christmas-wholesale-buyers", "kitchen-dining-regulars"}
    assert {member[str(13000 + c)] for c in range(40)} == {"christmas-wholesale-buyers"}
    xmas = by_id["christmas-wholesale-buyers"]
    assert xmas.name == "Christmas wholesale buyers"
    assert xmas.top_categories[0] == ("christmas", 1.0)
    assert "40 customers" in xmas.description and "Christmas 100%" in xmas.description
    assert any("Christmas" in d and "x the average customer" in d for d in xmas.differs)
    assert dict(xmas.countries) == {"United Kingdom": 0.75, "Germany": 0.25}
    assert set(xmas.examples) <= {str(13000 + c) for c in range(40)}


def test_segments_are_stable_across_two_trainings(tmp_path):
    lines = history(seed=7)
    versions = []
    for run in ("first", "second"):
        report = train(lines, PRODUCTS["id"].tolist(), tmp_path / run, products=PRODUCTS)
        versions.append(Model(tmp_path / run / report.version))
    first, second = versions
    customers = first.user_ids.tolist()
    assert [first.segment_of(c).id for c in customers] == [
        second.segment_of(c).id for c in customers
    ]
    assert [s.as_dict() for s in first.segments] == [s.as_dict() for s in second.segments]
    assert first.segment_of("not-a-customer") is None


def test_a_model_without_segments_still_loads(tmp_path):
    report = train(history(), PRODUCTS["id"].tolist(), tmp_path)  # no products: no segments
    model = Model(tmp_path / report.version)
    assert model.segments == [] and model.segment_of("13000") is None
