"""The exposure ledger port (core/ports.py ExposureLedger) on Redis: what exposure back-off
reads. An unreachable Redis answers an empty ledger, so back-off simply does not apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from storefront import event_effects


class RedisLedger:
    def __init__(self, client: redis.Redis):
        self.client = client

    def read(self, visitor_id: str, product_ids: Sequence[str]) -> Mapping[str, str]:
        try:
            return event_effects.read_ledger(self.client, visitor_id, product_ids)
        except redis.RedisError:
            return {}
