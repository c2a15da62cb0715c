"""QA snapshot mode: pin the clock, the model version, the rules version and the exploration
seed, so the same request renders the same page byte for byte.

Enabled for every request by configuration (`STOREFRONT_SNAPSHOT`, trusted: the operator set
it), or per request by a token signed with the shop's secret (`X-Storefront-Snapshot` header or
`?snapshot=`), made by `storefront snapshot token`. An unsigned or tampered token is refused.
Every pinned response says so in its `X-Storefront-Snapshot` header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Request, current_app, g
from itsdangerous import BadSignature, URLSafeSerializer

from storefront.core.lookup import header, lookup

HEADER = "X-Storefront-Snapshot"


class SnapshotError(ValueError):
    """A snapshot token or setting is invalid; the message names the field."""


@dataclass(frozen=True)
class Pin:
    clock: datetime  # UTC
    model: str | None = None
    rules: str | None = None
    seed: str = "qa"
    arms: tuple[tuple[str, str], ...] = ()  # (experiment, arm); experiments not named are off

    def header(self) -> str:
        arms = ",".join(f"{e}={a}" for e, a in self.arms) or "none"
        return (
            f"clock={self.clock.isoformat(timespec='minutes')}; model={self.model or 'current'}; "
            f"rules={self.rules or 'current'}; seed={self.seed}; arms={arms}"
        )

    def as_dict(self) -> dict:
        return {
            "clock": self.clock.isoformat(),
            "model": self.model,
            "rules": self.rules,
            "seed": self.seed,
            "arms": dict(self.arms),
        }


def pin_from(data: dict) -> Pin:
    if not isinstance(data, dict) or "clock" not in data:
        raise SnapshotError("clock: required (ISO 8601, e.g. 2011-12-05T19:30:00+00:00)")
    try:
        clock = datetime.fromisoformat(str(data["clock"]))
    except ValueError:
        raise SnapshotError("clock: not an ISO 8601 time") from None
    clock = (clock if clock.tzinfo else clock.replace(tzinfo=UTC)).astimezone(UTC)
    for name in ("model", "rules", "seed"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str | int) or len(str(value)) > 64):
            raise SnapshotError(f"{name}: a short string")
    arms = data.get("arms") or {}
    if not isinstance(arms, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 40 and len(v) <= 30
        for k, v in arms.items()
    ):
        raise SnapshotError("arms: an object of experiment id -> arm name")
    return Pin(
        clock,
        data.get("model"),
        data.get("rules"),
        str(data.get("seed") or "qa"),
        tuple(sorted(arms.items())),
    )


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="storefront.qa-snapshot")


def make_token(secret: str, pin: Pin) -> str:
    return _serializer(secret).dumps(pin.as_dict())


def read_pin(request: Request) -> Pin | None:
    """The pin for this request: from the configuration, else from a signed token, else None."""
    settings = current_app.config["SETTINGS"]
    if settings.snapshot:
        raw = settings.snapshot
        try:
            data = json.loads(raw)
        except ValueError:
            data = _load_token(settings.secret_key, raw)
        return pin_from(data)
    token = header(request.headers, HEADER) or lookup(request.args, "snapshot")
    if not token:
        return None
    return pin_from(_load_token(settings.secret_key, token))


def _load_token(secret: str, token: str) -> dict:
    if len(token) > 1000:
        raise SnapshotError("snapshot: token too long")
    try:
        return _serializer(secret).loads(token)
    except BadSignature:
        raise SnapshotError("snapshot: not a token signed by this shop") from None


def current_pin() -> Pin | None:
    return g.get("pin")


def _header(response):
    pin = g.get("pin")
    if pin is not None:
        response.headers[HEADER] = pin.header()
    return response


def init_app(app: Flask) -> None:
    app.after_request(_header)
