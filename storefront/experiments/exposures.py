"""Who took part in a targeted experiment, written once per visitor and experiment.

A targeted experiment ("only mobile visitors") must be measured on the visitors it targeted:
the event log alone cannot tell a mobile visitor's impression in the control arm from a desktop
visitor's on the same slot. So the page that applies the experiment notes the visitor; a page
view (a GET) writes nothing to SQL, though: the note waits in the session store (one small hash
per visitor, with a TTL) and the visitor's next events (POST /events, the impressions the page
sends) move it into SQL. The results count only visitors with impressions anyway, so a note
that never meets an event (a bot, a page without the tracker) would never have counted.

Each worker remembers the pairs it has noted (bounded), so a busy page costs one dictionary
lookup, and the primary key turns a second write of the same pair into a no-op.

The permanent holdout is recorded the same way, under the experiment id HOLDOUT_ID (which no
experiment can take: their ids have no underscore): every visitor whose events are recorded
(POST /events, so only a visitor with a cookie or named by an API caller, and not under GPC/DNT)
is enrolled once, "holdout" or "personalized", at their first recorded event, with the group
the pages serve them (experiments/bucketing.in_holdout). The holdout report reads it
(experiments/holdout.py).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime

import redis
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storefront import db
from storefront.core import bounded
from storefront.redis_client import PENDING_EXPOSURES, key

log = logging.getLogger(__name__)
REMEMBERED = 100_000  # pairs per worker; an evicted pair costs one more (ignored) insert
PENDING_TTL = 24 * 3600  # a note waits this long for the visitor's events
HOLDOUT_ID = "_holdout"  # experiment_exposures rows of the permanent holdout
HOLDOUT, PERSONALIZED = "holdout", "personalized"


class Exposures:
    def __init__(self, engine: Engine, client: redis.Redis, remembered: int = REMEMBERED):
        self._engine = engine
        self._r = client
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._bound = remembered
        self._lock = threading.Lock()

    def note(self, experiment_id: str, visitor: str, arm: str) -> None:
        """A page applied a targeted experiment to this visitor: keep it until their events
        arrive (flush). Redis only: a GET leaves SQL as it found it."""
        pair = (experiment_id, visitor)
        with self._lock:
            if pair in self._seen:
                self._seen.move_to_end(pair)
                return
        k = key(PENDING_EXPOSURES, visitor)
        try:
            pipe = self._r.pipeline(transaction=False)
            pipe.hsetnx(k, experiment_id, arm)
            pipe.expire(k, PENDING_TTL)
            pipe.execute()
        except redis.RedisError:  # the page is served, the count may be short
            log.warning("could not note %s in experiment %s", visitor, experiment_id)
            return
        self._remember(pair)

    def flush(self, visitor: str) -> int:
        """The visitor's events arrived: move their pending notes into SQL (each once);
        returns how many were written. Called on POST /events."""
        k = key(PENDING_EXPOSURES, visitor)
        try:
            pipe = self._r.pipeline(transaction=True)
            pipe.hgetall(k)
            pipe.delete(k)
            pending, _ = pipe.execute()
        except redis.RedisError:
            return 0
        written = 0
        for experiment_id, arm in pending.items():
            try:
                written += self.record(experiment_id, visitor, arm)
            except Exception:  # the database is down: the note waits for the next events
                log.warning("could not record %s in experiment %s", visitor, experiment_id)
                try:
                    self._r.hsetnx(k, experiment_id, arm)
                    self._r.expire(k, PENDING_TTL)
                except redis.RedisError:
                    pass
        return written

    def enrol(self, visitor: str, held_out: bool) -> int:
        """The visitor's events are recorded: note their holdout group once (the first group
        stays). Returns 1 when written now. A database failure costs the note, not the events
        (already committed); the visitor's next events try again."""
        with self._lock:
            if (HOLDOUT_ID, visitor) in self._seen:
                self._seen.move_to_end((HOLDOUT_ID, visitor))
                return 0
        try:
            return self.record(HOLDOUT_ID, visitor, HOLDOUT if held_out else PERSONALIZED)
        except Exception:
            log.warning("could not record the holdout group of %s", visitor)
            return 0

    def record(self, experiment_id: str, visitor: str, arm: str) -> int:
        """Write one exposure to SQL; 0 when it was written before (any worker)."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    db.experiment_exposures.insert().values(
                        experiment_id=experiment_id,
                        visitor=visitor,
                        arm=arm,
                        first_seen=datetime.now(UTC).replace(tzinfo=None),
                    )
                )
        except IntegrityError:
            self._remember((experiment_id, visitor))
            return 0  # noted before (another worker, or before this worker started)
        self._remember((experiment_id, visitor))
        return 1

    def _remember(self, pair: tuple[str, str]) -> None:
        with self._lock:
            bounded.put(self._seen, pair, None, self._bound)


def exposed(engine: Engine, experiment_id: str) -> dict[str, str]:
    """visitor -> arm for everyone the experiment's targeting let in."""
    q = select(db.experiment_exposures.c.visitor, db.experiment_exposures.c.arm).where(
        db.experiment_exposures.c.experiment_id == experiment_id
    )
    with engine.connect() as conn:
        return {r.visitor: r.arm for r in conn.execute(q)}
