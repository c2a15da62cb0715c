"""The Flask secret key that every shop node shares (visitor cookies, CSRF, QA tokens).

STOREFRONT_SECRET_KEY when it is set; otherwise the one in the database (table
shared_secrets), generated once by the first node to start and read by all the others, so a
visitor's cookie signed on one node is good on every node and nothing a page needs lives only on
one node's disk. A shop that kept its secret in home/secret_key (before revision 0005) adopts
that one into the database, so its visitors keep their cookies.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storefront import db
from storefront.config import Settings

FLASK = "flask"  # the row of the Flask secret key


def with_secret(settings: Settings, engine: Engine) -> Settings:
    """`settings` with its secret key: the environment's, else the database's."""
    if settings.secret_key:
        return settings
    return settings.model_copy(update={"secret_key": shared(engine, settings)})


def shared(engine: Engine, settings: Settings, name: str = FLASK) -> str:
    """The database's secret `name`, created (once, whichever node comes first) when absent."""
    found = _read(engine, name)
    if found is not None:
        return found
    legacy = settings.home / "secret_key"
    value = legacy.read_text().strip() if legacy.exists() else secrets.token_urlsafe(48)
    row = {"name": name, "value": value, "created": datetime.now(UTC).replace(tzinfo=None)}
    try:
        with engine.begin() as conn:
            conn.execute(insert(db.shared_secrets).values(**row))
    except IntegrityError:  # another node created it first: theirs is everybody's
        pass
    found = _read(engine, name)
    assert found is not None  # just written, by us or by the node that won
    return found


def _read(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        query = select(db.shared_secrets.c.value).where(db.shared_secrets.c.name == name)
        return conn.execute(query).scalar()
