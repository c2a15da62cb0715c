"""Every column of the schema that names a person is one deletion removes and the audit reads
(storefront/privacy.PERSON_COLUMNS), and the deletion ledger's hashes name nobody."""

from __future__ import annotations

import pandas as pd

from storefront import db, deletions
from storefront.privacy import PERSON_COLUMNS, person_keys

PERSON_NAMES = {"visitor", "customer_id", "customer", "email"}


def test_every_column_that_names_a_person_is_listed():
    listed = {(table.name, column) for table, column, _ in PERSON_COLUMNS}
    named = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.name in PERSON_NAMES
    }
    named.add(("customers", "id"))
    # an account's e-mail goes with its row (customer_accounts.customer_id)
    named.discard(("customer_accounts", "email"))
    assert named == listed


def test_the_ledger_hashes_ids_and_masks_frames():
    h = deletions.digest("12345")
    assert len(h) == 64 and "12345" not in h and h != deletions.digest("12346")
    ids = pd.Series(["12345", None, "777", "12345"])
    mask = deletions.deleted_mask(ids, {h})
    assert mask.tolist() == [True, False, False, True]
    assert not deletions.deleted_mask(ids, set()).any()


def test_person_keys_match_whole_parts_and_customer_purposes_only(embedded_redis_url):
    import secrets

    import redis

    r = redis.Redis.from_url(embedded_redis_url, decode_responses=True)
    visitor, customer = secrets.token_urlsafe(16), f"9{secrets.randbelow(10**8):08d}"
    theirs = [
        f"sf:views:{visitor}",
        f"sf:{{{visitor}}}:cart",  # hash-tagged
        f"sf:frag:for-you:v:{visitor}:s:3:m1",
        f"sf:customer:{customer}",
        f"sf:limit:LIMITER/custlogin/acct/{customer}/10/900/second",
    ]
    others = [
        f"sf:views:{visitor}x",  # another visitor whose id starts the same
        f"sf:frag:similar:p:{customer}:m1",  # a product id that looks like the customer number
    ]
    for k in theirs + others:
        r.set(k, "1", ex=60)
    try:
        assert person_keys(r, [visitor], [customer]) == sorted(theirs)
    finally:
        r.delete(*theirs, *others)
