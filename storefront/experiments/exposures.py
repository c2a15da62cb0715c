"""Who took part in a targeted experiment, written once per visitor and experiment.

A targeted experiment ("only mobile visitors") must be measured on the visitors it targeted:
the event log alone cannot tell a mobile visitor's impression in the control arm from a desktop
visitor's on the same slot. So the page that applies the experiment notes the visitor here the
first time. Each worker remembers the pairs it has written (bounded), so a busy page costs one
dictionary lookup, and the primary key turns a second worker's write of the same pair into a
no-op.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storefront import db

log = logging.getLogger(__name__)
REMEMBERED = 100_000  # pairs per worker; an evicted pair costs one more (ignored) insert


class Exposures:
    def __init__(self, engine: Engine, remembered: int = REMEMBERED):
        self._engine = engine
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._bound = remembered
        self._lock = threading.Lock()

    def note(self, experiment_id: str, visitor: str, arm: str) -> None:
        pair = (experiment_id, visitor)
        with self._lock:
            if pair in self._seen:
                self._seen.move_to_end(pair)
                return
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
            pass  # noted before (another worker, or before this worker started)
        except Exception:  # the database is down: the page is served, the count is short
            log.warning("could not note %s in experiment %s", visitor, experiment_id)
            return
        with self._lock:
            self._seen[pair] = None
            while len(self._seen) > self._bound:
                self._seen.popitem(last=False)


def exposed(engine: Engine, experiment_id: str) -> dict[str, str]:
    """visitor -> arm for everyone the experiment's targeting let in."""
    q = select(db.experiment_exposures.c.visitor, db.experiment_exposures.c.arm).where(
        db.experiment_exposures.c.experiment_id == experiment_id
    )
    with engine.connect() as conn:
        return {r.visitor: r.arm for r in conn.execute(q)}
