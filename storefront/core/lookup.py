"""`lookup`: a request mapping's value by name, cheaply when the name is absent.

werkzeug's MultiDict (query arguments, cookies) answers `.get` for an absent name by raising
and catching a BadRequestKeyError inside; on a warm page, where most names asked for (UTM tags,
the QA pin, the session cookie) are absent, those exceptions cost a measurable share of the
request (docs/benchmarks.md, "Issue #17's speed, third pass"). Asking `in` first does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(mapping: Mapping[str, str], name: str, default: T = None) -> str | T:
    """`mapping[name]`, or `default` when it has no such name."""
    return mapping[name] if name in mapping else default
