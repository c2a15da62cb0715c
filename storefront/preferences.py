"""The shopper's own choices, which always win over what the shop inferred.

Stored per visitor in one Redis hash (a year's TTL, refreshed on change): `off:<signal>` for a
switched-off signal (location, history, device, or personalization as a whole), `mute:<category>`
for a muted category, `drop:<trait>` for an inferred trait the shopper removed.
"""

from __future__ import annotations

import redis

from storefront.core.context import SIGNALS as SIGNALS  # re-exported: core/context.py
from storefront.core.context import signal_off as signal_off
from storefront.redis_client import PREFS, key

PREFS_TTL = 365 * 86400


class Preferences:
    def __init__(self, client: redis.Redis, sessions):
        self.r = client
        self.sessions = sessions

    def _change(self, visitor_id: str, set_fields: dict[str, str], del_fields: list[str]) -> None:
        k = key(PREFS, visitor_id)
        pipe = self.r.pipeline(transaction=True)
        if set_fields:
            pipe.hset(k, mapping=set_fields)
        if del_fields:
            pipe.hdel(k, *del_fields)
        pipe.expire(k, PREFS_TTL)
        self.sessions.bump(pipe, visitor_id)  # personal fragments recompute on the next page
        self.sessions.commit(pipe)

    def set_signal(self, visitor_id: str, signal: str, enabled: bool) -> None:
        if signal not in (*SIGNALS, "personalization"):
            raise ValueError(f"signal: unknown signal {signal!r}")
        field = f"off:{signal}"
        self._change(visitor_id, {} if enabled else {field: "1"}, [field] if enabled else [])

    def mute(self, visitor_id: str, category: str, muted: bool) -> None:
        field = f"mute:{category}"
        self._change(visitor_id, {field: "1"} if muted else {}, [] if muted else [field])

    def drop_trait(self, visitor_id: str, trait: str) -> None:
        """Remove an inferred trait (e.g. 'affinity:christmas', 'price_band', 'exclusion:bags')."""
        self._change(visitor_id, {f"drop:{trait}": "1"}, [])
