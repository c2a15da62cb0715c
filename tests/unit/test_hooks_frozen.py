"""Context and LocalTime write their fields at once (a hand-written __init__): the same
parameters, order and defaults as the frozen dataclass __init__ they replace, still frozen,
equal and hashed by their fields, and dataclasses.replace still works."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime

import pytest

from storefront.core.context import Context
from storefront.signals.clock import LocalTime, local_time
from tests.unit.test_fragment_keys import ctx


def _generated(cls):
    """The class as @dataclass(frozen=True) would build it, with its generated __init__."""
    fields = [
        (f.name, f.type, dataclasses.field(default=f.default))
        if f.default is not dataclasses.MISSING
        else (f.name, f.type)
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True)


@pytest.mark.parametrize("cls", [Context, LocalTime])
def test_the_hand_written_init_has_the_generated_ones_signature(cls):
    ours = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(_generated(cls).__init__).parameters
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].default == theirs[name].default, name
        assert ours[name].kind == theirs[name].kind, name
    assert cls.__dataclass_params__.frozen


def test_every_field_is_kept_and_the_objects_stay_frozen_and_comparable():
    c = ctx()
    values = {f.name: getattr(c, f.name) for f in dataclasses.fields(Context)}
    again = Context(**values)
    assert again == c and hash(again.time) == hash(c.time)
    assert {f.name: getattr(again, f.name) for f in dataclasses.fields(Context)} == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.device = "mobile"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.time.daypart = "night"  # type: ignore[misc]
    moved = dataclasses.replace(c, device="mobile", live_epoch=4)
    assert (moved.device, moved.live_epoch, moved.visitor_id) == ("mobile", 4, c.visitor_id)
    assert moved != c
    t = local_time(datetime(2011, 12, 5, 9, 0, tzinfo=UTC), "GB", None, "UTC")
    assert pickle.loads(pickle.dumps(t)) == t
    assert "daypart='morning'" in repr(t)
    with pytest.raises(TypeError):
        Context("v", False)  # type: ignore[call-arg]
