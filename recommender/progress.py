"""Progress bars for the long commands (train, evaluate, tune), by tqdm, on stderr.

A command's --json turns them off (`quiet()`), so stdout carries exactly one JSON document and
stderr no bar; otherwise tqdm shows them where stderr is a terminal and stays silent where it is
not (a log file, a test). The commands run in their own processes, so one switch per process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_quiet = False


def quiet(on: bool = True) -> None:
    """Turn every bar of this process off (--json) or back on."""
    global _quiet
    _quiet = on


def bar(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate over items behind a bar (none under quiet(), none when stderr is no terminal)."""
    disable = True if _quiet else None  # None: tqdm decides by whether stderr is a TTY
    yield from tqdm(
        items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False, disable=disable
    )


def counter(desc: str, total: float, unit: str = "s") -> tqdm:
    """A bar updated by hand (e.g. seconds of a time budget); close it when done."""
    disable = True if _quiet else None
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, disable=disable)
