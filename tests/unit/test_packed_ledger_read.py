"""The exposure ledger that came with the session read (session.PackedLedger), as the
strategies read it through its port (ledger.RedisLedger): the same answer as the hash itself."""

from __future__ import annotations

from storefront.ledger import RedisLedger
from storefront.session import LEDGER_SEP, PackedLedger


def test_a_packed_ledger_answers_exactly_the_fields_asked_for_that_it_holds():
    fields = {"_s": "4", "_e": "1", "A1": "3", "A1:e": "2", "B2": "1", "C3:e": "5"}
    raw = LEDGER_SEP.join(x for kv in fields.items() for x in kv)
    ledger = RedisLedger(None, "v1", PackedLedger(raw))
    asked = ["A1", "B2", "C3", "D4"]
    want = {f: v for f, v in fields.items() if f in {"_s", "_e", "A1", "A1:e", "B2", "C3:e"}}
    assert ledger.read("v1", asked) == want
    assert ledger.read("v1", []) == {"_s": "4", "_e": "1"}
    assert RedisLedger(None, "v1", PackedLedger("")).read("v1", asked) == {}
    assert RedisLedger(None, "v1", dict(fields)).read("v1", asked) == want  # a plain mapping too
