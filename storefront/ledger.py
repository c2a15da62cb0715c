"""The exposure ledger port (core/ports.py ExposureLedger) on Redis: what exposure back-off
reads. An unreachable Redis answers an empty ledger, so back-off simply does not apply.

When the session read brought the whole ledger along (SessionState.exposures: the page is to
be built and the ledger is small), every strategy's read is answered from it, without a round
trip; otherwise each read is one HMGET."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis

from storefront import event_effects


class RedisLedger:
    def __init__(
        self,
        client: redis.Redis,
        visitor_id: str | None = None,
        known: Mapping[str, str] | None = None,
    ):
        self.client = client
        self.visitor_id = visitor_id
        self.known = known  # the whole ledger of `visitor_id`, if the session read brought it

    def read(self, visitor_id: str, product_ids: Sequence[str]) -> Mapping[str, str]:
        if self.known is not None and visitor_id == self.visitor_id:
            have = self.known
            as_dict = getattr(have, "as_dict", None)  # the session read's packed ledger
            if as_dict is not None:
                have = as_dict()
            if not have:
                return {}
            fields = ("_s", "_e", *product_ids, *(f"{p}:e" for p in product_ids))
            return {f: have[f] for f in fields if f in have}
        try:
            return event_effects.read_ledger(self.client, visitor_id, product_ids)
        except redis.RedisError:
            return {}
