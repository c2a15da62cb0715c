"""Redis Cluster hash tags: which keys must live in one hash slot.

Everything of one visitor (session, cart, traits, exposure ledger, their cached pages and
personal fragments) carries the tag `{v:<visitor>}`, so a Redis Cluster keeps it in one slot:
the session read (one server-side script) and the page's personal fragments stay one round
trip, and a visitor's transactions never span slots (CROSSSLOT). Shared keys (trending rails,
rate windows of other subjects, customer pointers) carry no tag and spread over the cluster.

Pure: no Redis here (the adapter, storefront/redis_client.py, builds the keys with it).
"""

from __future__ import annotations


def visitor_tag(visitor_id: str) -> str:
    """The hash tag of one visitor's keys: only the part between the braces is hashed."""
    return "{v:" + visitor_id + "}"
