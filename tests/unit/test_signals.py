"""One table of event weights (recommender/signals.py): training, fold-in and traits agree.

For every kind of signal with a positive weight w, 1/w signals of that kind must weigh exactly
what one purchase weighs, in all three places: ten views are one order when training reads the
event log, when serving folds a session into the shopper's taste, and when events grow traits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import event_log, imported, signals
from recommender.models import ALSParams
from recommender.serving import Model
from recommender.train import train
from storefront import event_effects, traits

NOW = 1_780_000_000.0
# each kind with a positive weight, and how many of it make one purchase
AS_MANY = {kind: round(1.0 / w) for kind, w in signals.WEIGHTS.items() if w > 0}


def test_every_weight_is_a_whole_fraction_of_an_order():
    assert AS_MANY == {"purchase": 1, "add_to_cart": 2, "click": 4, "view": 10}
    for kind, many in AS_MANY.items():
        assert signals.order_equivalents(kind) * many == pytest.approx(1.0)
    assert signals.order_equivalents("impression") == 0.0  # not an interaction


def test_every_copy_reads_the_one_table():
    assert event_log.WEIGHTS is signals.WEIGHTS
    assert {k: w for k, w in imported.WEIGHTS.items() if k != "rating"} == {
        k: w for k, w in signals.WEIGHTS.items() if w > 0
    }
    assert event_effects.ENGAGEMENT == signals.ENGAGEMENTS


def test_training_weighs_signals_by_the_table():
    rows = [
        {"visitor": f"v-{kind}", "type": kind, "product_id": "p01", "ts": "2011-12-01"}
        for kind, many in AS_MANY.items()
        for _ in range(many)
    ]
    pairs = event_log.interactions(pd.DataFrame(rows))
    weights = dict(zip(pairs["customer_id"], pairs["weight"], strict=True))
    for kind in AS_MANY:
        assert weights[event_log.VISITOR_PREFIX + f"v-{kind}"] == pytest.approx(1.0), kind


def test_traits_weigh_signals_by_the_table():
    def grown(kind: str, many: int) -> dict[str, float]:
        total: dict[str, float] = {}
        for _ in range(many):
            for f, inc in traits.signal_fields(kind, "garden", "mid", NOW).items():
                total[f] = total.get(f, 0.0) + inc
        return total

    one_order = grown("purchase", 1)
    for kind, many in AS_MANY.items():
        assert grown(kind, many) == pytest.approx(one_order), kind
    assert traits.signal_fields("remove_from_cart", "garden", "mid", NOW) == {}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Model:
    rng = np.random.default_rng(5)
    rows = [
        {
            "invoice": f"i{u}-{k}",
            "customer_id": f"c{u}",
            "product_id": f"p{item:02d}",
            "ts": pd.Timestamp("2011-11-01") + pd.Timedelta(days=int(k)),
            "country": "GB",
        }
        for u in range(30)
        for k, item in enumerate(rng.choice(range(u % 2 * 6, u % 2 * 6 + 6), 3, replace=False))
    ]
    root = tmp_path_factory.mktemp("models")
    report = train(pd.DataFrame(rows), [f"p{i:02d}" for i in range(12)], root, ALSParams(4))
    return Model(root / report.version)


def test_fold_in_weighs_signals_by_the_table(model):
    for who in (None, "c3"):  # a stranger's session, and a customer's on top of their history
        one_order = model.user_vector(who, [("p07", "purchase"), ("p02", "view")])
        for kind, many in AS_MANY.items():
            vector = model.user_vector(who, [("p07", kind)] * many + [("p02", "view")])
            np.testing.assert_allclose(vector, one_order, rtol=1e-5, atol=1e-6, err_msg=kind)
