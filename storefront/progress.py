"""Progress of a long import on stderr: dated messages, and a bar while rows are written.

stderr so that stdout stays the report (and, with --json, nothing but JSON); quiet=True (for
--json) prints nothing at all. tqdm draws the bar, and prints its messages above it.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm


class ImportProgress:
    """Callable as a message sink (progress=...), with .bar(done, total) for the write phase."""

    def __init__(self, quiet: bool = False, unit: str = "rows"):
        self.quiet = quiet
        self.unit = unit
        self._bar: tqdm | None = None

    def __call__(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(f"  {time.strftime('%H:%M:%S')}  {message}", file=sys.stderr)

    def bar(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self._bar is None:
            self._bar = tqdm(
                total=total, unit=f" {self.unit}", unit_scale=True, desc="  writing",
                file=sys.stderr, leave=True,
            )  # fmt: skip
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
