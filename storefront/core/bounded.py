"""Bounded in-memory maps: one way for a worker's memos to stay within their size."""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def put(held: MutableMapping[K, V], key: K, value: V, limit: int) -> None:
    """held[key] = value, then the oldest entries out (insertion order) until at most `limit`
    are left. With an OrderedDict whose reads move_to_end, the oldest is the least recently
    used. Safe between threads without a lock: two may evict at once, neither raises."""
    held[key] = value
    while len(held) > limit:
        try:
            del held[next(iter(held))]
        except (KeyError, StopIteration, RuntimeError):  # another thread got there first
            break
