"""`lookup`: a request mapping's value by name, cheaply when the name is absent; `header`: the
same for a request header.

werkzeug's MultiDict (query arguments, cookies) answers `.get` for an absent name by raising
and catching a BadRequestKeyError inside; on a warm page, where most names asked for (UTM tags,
the QA pin, the session cookie) are absent, those exceptions cost a measurable share of the
request (docs/benchmarks.md, "Issue #17's speed, third pass"). Asking `in` first does not.
A request's headers (werkzeug's EnvironHeaders) raise and catch a KeyError for each absent
name too, `in` included; `header` reads their WSGI environ (a plain dict) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")


def lookup(mapping: Mapping[str, str], name: str, default: T = None) -> str | T:
    """`mapping[name]`, or `default` when it has no such name."""
    return mapping[name] if name in mapping else default


@lru_cache(maxsize=256)
def environ_name(header_name: str) -> str:
    """The WSGI environ key of a request header, as werkzeug's EnvironHeaders reads it."""
    name = header_name.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + name


def header(headers: Any, name: str, default: T = None) -> str | T:
    """`headers.get(name, default)`: from the WSGI environ of a request's headers (the same
    value, without an exception when absent), else from any other mapping of headers."""
    environ = getattr(headers, "environ", None)
    if environ is not None:
        return environ.get(environ_name(name), default)
    return headers.get(name, default)
