"""The live window of "trending near you": recent events by country and part of day, in Redis.

Every accepted view, click, cart add or purchase from a shopper's browser adds its weight (the
one table, recommender/signals.py: a purchase is 1, a view 0.1) to a sorted set per country,
part of the visitor's day and local date, and to the same set for all countries:

    sf:trend:<country or *>:<daypart>:<yyyymmdd>    zset product -> weight
                                                    at most CAP members, TTL the window + a day

A rail reads the last STOREFRONT_TRENDING_LIVE_DAYS dates of its country and part of day in
one pipeline, weighs each day half the day after it, and is refreshed every
STOREFRONT_TRENDING_REFRESH seconds (the epoch in its fragment key and in the page stamp), so
it follows the shop's traffic without retraining. Each worker keeps what it read for the
epoch (a bounded memo), so a page asks Redis at most once per country, part of day and epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import redis

from recommender.signals import order_equivalents
from storefront.core.ports import LiveTrend
from storefront.redis_client import TRENDING, key

log = logging.getLogger(__name__)

ALL = "*"  # the set of every country (visitors the shop cannot place read it)
CAP = 500  # members kept per set: the lightest are dropped beyond it
READ = 200  # members read per set
HALF_LIFE_DAYS = 1.0  # a day's events weigh half as much as the next day's
MEMO = 512  # windows a worker keeps (country x part of day x epoch), then starts afresh


@dataclass(frozen=True)
class Where:
    """Where and when, for the visitor, a batch of events happened."""

    country: str | None
    daypart: str
    day: date


def set_key(country: str | None, daypart: str, day: date) -> str:
    return key(TRENDING, country or ALL, daypart, day.strftime("%Y%m%d"))


def _keys(where: Where) -> list[str]:
    keys = [set_key(None, where.daypart, where.day)]
    if where.country:
        keys.append(set_key(where.country, where.daypart, where.day))
    return keys


def count(pipe: redis.client.Pipeline, where: Where, product_id: str, kind: str) -> bool:
    """Queue one event's weight onto `pipe`; False when its kind weighs nothing."""
    weight = order_equivalents(kind)
    if not weight:
        return False
    for k in _keys(where):
        pipe.zincrby(k, weight, product_id)
    return True


def bound(pipe: redis.client.Pipeline, where: Where, days: int) -> None:
    """Keep the sets a batch wrote within CAP members and the window (once per batch)."""
    for k in _keys(where):
        pipe.zremrangebyrank(k, 0, -(CAP + 1))
        pipe.expire(k, (days + 1) * 86400)


def merge(days: Iterable[list[tuple[str, float]]]) -> LiveTrend:
    """Sets of consecutive days, newest first, as one decayed ranking."""
    scores: dict[str, float] = {}
    for age, members in enumerate(days):
        factor = 0.5 ** (age / HALF_LIFE_DAYS)
        for pid, score in members:
            scores[pid] = scores.get(pid, 0.0) + float(score) * factor
    ranked = sorted(((p, s) for p, s in scores.items() if s > 0), key=lambda x: (-x[1], x[0]))
    return LiveTrend(tuple(ranked), sum(s for _, s in ranked))


class RedisTrends:
    """The TrendWindow port (core/ports.py) on the session store's Redis."""

    def __init__(self, client: redis.Redis, days: int):
        self.r = client
        self.days = days
        self._memo: dict[tuple, LiveTrend] = {}

    def window(self, country: str | None, daypart: str, day: date, epoch: int) -> LiveTrend:
        memo_key = (country, daypart, day, epoch)
        found = self._memo.get(memo_key)
        if found is not None:
            return found
        try:
            pipe = self.r.pipeline(transaction=False)
            for back in range(self.days):
                k = set_key(country, daypart, day - timedelta(days=back))
                pipe.zrevrange(k, 0, READ - 1, withscores=True)
            replies = pipe.execute()
        except redis.RedisError as exc:  # no live window: the trained list serves
            log.warning("live trending unreadable: %s", exc)
            return LiveTrend()
        got = merge(
            [(m.decode() if isinstance(m, bytes) else m, s) for m, s in reply] for reply in replies
        )
        if len(self._memo) >= MEMO:
            self._memo.clear()
        self._memo[memo_key] = got
        return got
