"""Pick and SlotWork write their fields in their own __init__ (cheaper than a frozen
dataclass's generated one): the same fields, order and defaults, and still frozen."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from storefront.core.pipeline import SlotWork
from storefront.core.strategies.base import Exploration, Pick


@pytest.mark.parametrize("cls", [Pick, SlotWork])
def test_init_takes_the_dataclass_fields_in_order_with_their_defaults(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        assert p.default == (
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        )


def test_picks_and_works_stay_frozen_values():
    pick = Pick("p1", 0.5, "Because")
    assert pick == Pick("p1", 0.5, "Because", "", "") and hash(pick) == hash(
        Pick("p1", 0.5, "Because")
    )
    assert dataclasses.replace(pick, kind="boosted") == Pick("p1", 0.5, "Because", "boosted")
    assert pickle.loads(pickle.dumps(pick)) == pick
    assert repr(pick) == "Pick(product_id='p1', score=0.5, reason='Because', kind='', rule='')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        pick.kind = "x"  # type: ignore[misc]
    work = SlotWork("s", 3, (pick,), explore=Exploration(0.2, ("p2",)), title="T")
    assert work.with_picks(()) == SlotWork("s", 3, (), (), True, Exploration(0.2, ("p2",)), "T")
    assert SlotWork.from_json("s", 3, True, work.to_json()) == work
    with pytest.raises(dataclasses.FrozenInstanceError):
        work.size = 4  # type: ignore[misc]
