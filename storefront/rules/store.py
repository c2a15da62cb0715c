"""Rule sets in SQL: one editable draft, immutable published versions, and the audit log.

Publishing and restoring append a version (restoring copies an old one's rules), so history is
never rewritten and the newest version is what shoppers get. Every change writes an audit entry
with a unified diff of the YAML, in the same transaction as the change. After a publish the new
version is the newest row, which every worker looks for each second (holder.py): one indexed
query, and no second place (a Redis key) that could disagree with SQL.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from storefront import db
from storefront.catalog import Catalog
from storefront.rules import yamlio
from storefront.rules.schema import Rule, RuleSet, ruleset_data, to_data
from storefront.rules.validate import Problem, RulesError, check, semantic_problems

log = logging.getLogger(__name__)


class StoreError(ValueError):
    """A change was refused (a name taken, a rule changed meanwhile, nothing to publish)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def digest(ruleset: RuleSet) -> str:
    raw = json.dumps(ruleset_data(ruleset), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=4).hexdigest()


def _yaml_of_rule(rule: Rule | None) -> str:
    return yamlio.dump(RuleSet(rules=(rule,)), "rule").split("\n", 3)[3] if rule else ""


def diff_text(before: str, after: str, a: str = "before", b: str = "after") -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), a, b, n=2
    )
    return "".join(lines)


def record(engine: Engine, actor: str, action: str, target: str, diff: str = "") -> None:
    """An audit entry for a change made elsewhere (studio users, for instance)."""
    with engine.begin() as conn:
        _audit(conn, actor, action, target, diff)


def _audit(conn: Connection, actor: str, action: str, target: str, diff: str) -> None:
    conn.execute(
        insert(db.audit_log).values(
            ts=_now(), actor=actor[:64], action=action, target=target[:120], diff=diff
        )
    )


# ---- the draft -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftRule:
    id: int
    rule: Rule
    updated: datetime
    updated_by: str

    @property
    def stamp(self) -> str:
        """Changes whenever the rule is saved: forms send it back to catch lost updates."""
        return self.updated.isoformat(timespec="microseconds")


def draft_rules(engine: Engine) -> list[DraftRule]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(db.rule_drafts).order_by(db.rule_drafts.c.position, db.rule_drafts.c.id)
        ).mappings()
        return [
            DraftRule(
                r["id"], Rule.model_validate(json.loads(r["body"])), r["updated"], r["updated_by"]
            )
            for r in rows
        ]


def draft(engine: Engine) -> RuleSet:
    return RuleSet(rules=tuple(d.rule for d in draft_rules(engine)))


def get_rule(engine: Engine, rule_id: int) -> DraftRule | None:
    return next((d for d in draft_rules(engine) if d.id == rule_id), None)


def check_in_set(rule: Rule, others: list[Rule], catalog: Catalog | None, line_of=None) -> None:
    """A rule is saved only if the draft stays a valid set with it."""
    if any(o.name.casefold() == rule.name.casefold() for o in others):
        raise RulesError([Problem(rule.name, "name", "another rule has this name")])
    rules = [*others, rule]  # a slot another rule adds is a known slot
    problems = [
        p
        for p in semantic_problems(list(enumerate(rules)), catalog, line_of or (lambda _: None))
        if p.rule == rule.name
    ]
    if problems:
        raise RulesError(problems)


def save_rule(
    engine: Engine,
    actor: str,
    rule: Rule,
    rule_id: int | None = None,
    stamp: str | None = None,
    catalog: Catalog | None = None,
    line_of=None,
) -> int:
    """Create (rule_id None) or update a draft rule; audited with a diff. `stamp` (from the
    form) refuses the save when someone else changed the rule since it was opened."""
    current = draft_rules(engine)
    before = next((d for d in current if d.id == rule_id), None)
    if rule_id is not None and before is None:
        raise StoreError(f"no rule #{rule_id} in the draft (deleted meanwhile?)")
    if before is not None and stamp is not None and stamp != before.stamp:
        raise StoreError(
            f"{before.updated_by} changed rule {before.rule.name!r} since you opened it; "
            "reload it and make your change again"
        )
    check_in_set(rule, [d.rule for d in current if d.id != rule_id], catalog, line_of)
    body = json.dumps(to_data(rule))
    try:
        with engine.begin() as conn:
            if before is None:
                position = conn.execute(
                    select(func.coalesce(func.max(db.rule_drafts.c.position), 0))
                ).scalar_one()
                rule_id = conn.execute(
                    insert(db.rule_drafts).values(
                        name=rule.name,
                        position=position + 1,
                        body=body,
                        updated=_now(),
                        updated_by=actor[:64],
                    )
                ).inserted_primary_key[0]
                action = "create"
            else:
                done = conn.execute(
                    update(db.rule_drafts)
                    .where(db.rule_drafts.c.id == rule_id)
                    .where(db.rule_drafts.c.updated == before.updated)  # nobody saved meanwhile
                    .values(name=rule.name, body=body, updated=_now(), updated_by=actor[:64])
                ).rowcount
                if not done:
                    raise StoreError(
                        f"rule {before.rule.name!r} was changed while you saved it; "
                        "reload it and make your change again"
                    )
                action = "update"
                if before.rule.enabled != rule.enabled and _only_enabled_differs(before.rule, rule):
                    action = "enable" if rule.enabled else "disable"
            diff = diff_text(_yaml_of_rule(before.rule if before else None), _yaml_of_rule(rule))
            _audit(conn, actor, action, rule.name, diff)
    except IntegrityError:
        raise StoreError(f"another rule is named {rule.name!r}") from None
    assert rule_id is not None
    return int(rule_id)


def _only_enabled_differs(a: Rule, b: Rule) -> bool:
    return a.model_copy(update={"enabled": b.enabled}) == b


def set_enabled(engine: Engine, actor: str, rule_id: int, enabled: bool) -> None:
    found = get_rule(engine, rule_id)
    if found is None:
        raise StoreError(f"no rule #{rule_id} in the draft")
    if found.rule.enabled != enabled:
        save_rule(engine, actor, found.rule.model_copy(update={"enabled": enabled}), rule_id)


def delete_rule(engine: Engine, actor: str, rule_id: int) -> str:
    found = get_rule(engine, rule_id)
    if found is None:
        raise StoreError(f"no rule #{rule_id} in the draft")
    with engine.begin() as conn:
        conn.execute(delete(db.rule_drafts).where(db.rule_drafts.c.id == rule_id))
        _audit(conn, actor, "delete", found.rule.name, diff_text(_yaml_of_rule(found.rule), ""))
    return found.rule.name


def _write_draft(conn: Connection, actor: str, ruleset: RuleSet) -> None:
    conn.execute(delete(db.rule_drafts))
    for i, rule in enumerate(ruleset.rules, start=1):
        conn.execute(
            insert(db.rule_drafts).values(
                name=rule.name,
                position=i,
                body=json.dumps(to_data(rule)),
                updated=_now(),
                updated_by=actor[:64],
            )
        )


def replace_draft(engine: Engine, actor: str, ruleset: RuleSet, action: str = "import") -> str:
    """Replace the whole draft (YAML import or edit), in one transaction; returns the diff."""
    before = yamlio.dump(draft(engine))
    after = yamlio.dump(ruleset)
    diff = diff_text(before, after, "draft", action)
    with engine.begin() as conn:
        _write_draft(conn, actor, ruleset)
        _audit(conn, actor, action, "draft", diff)
    return diff


# ---- versions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    id: int
    label: str
    ruleset: RuleSet
    created: datetime
    created_by: str
    note: str | None
    restored_from: int | None


def _version(row) -> Version:
    return Version(
        row["id"],
        row["label"],
        RuleSet.model_validate(json.loads(row["body"])),
        row["created"],
        row["created_by"],
        row["note"],
        row["restored_from"],
    )


def versions(engine: Engine, limit: int = 200) -> list[Version]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(db.rule_versions).order_by(db.rule_versions.c.id.desc()).limit(limit)
        ).mappings()
        return [_version(r) for r in rows]


def parse_id(text: str) -> int | None:
    """A database id from a request: ASCII digits that fit a 64-bit column, else None
    (str.isdigit() accepts '²', which int() refuses, and numbers no column holds)."""
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def get_version(engine: Engine, ref: int | str) -> Version | None:
    """A version by id (7), short label (v7) or full label (v7-1a2b3c4d)."""
    text = str(ref).strip().lower()
    ident = text.removeprefix("v").split("-", 1)[0]
    number = parse_id(ident)
    if number is None:
        return None
    with engine.connect() as conn:
        row = (
            conn.execute(select(db.rule_versions).where(db.rule_versions.c.id == number))
            .mappings()
            .first()
        )
    if row is None or ("-" in text and row["label"] != text):
        return None
    return _version(row)


def latest_label(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(db.rule_versions.c.label).order_by(db.rule_versions.c.id.desc()).limit(1)
        ).scalar()


def current(engine: Engine) -> Version | None:
    label = latest_label(engine)
    return get_version(engine, label) if label else None


def _append_version(
    conn: Connection, actor: str, ruleset: RuleSet, note: str | None, restored_from: int | None
) -> tuple[int, str]:
    pending = f"pending-{_now().timestamp():.6f}"[:32]
    new_id = conn.execute(
        insert(db.rule_versions).values(
            label=pending,
            body=json.dumps(ruleset_data(ruleset)),
            created=_now(),
            created_by=actor[:64],
            note=(note or None),
            restored_from=restored_from,
        )
    ).inserted_primary_key[0]
    label = f"v{new_id}-{digest(ruleset)}"
    conn.execute(
        update(db.rule_versions).where(db.rule_versions.c.id == new_id).values(label=label)
    )
    return int(new_id), label


def publish(
    engine: Engine,
    actor: str,
    note: str | None = None,
    catalog: Catalog | None = None,
) -> Version:
    """Publish the draft as a new version. The whole draft is checked again first."""
    ruleset = draft(engine)
    check(ruleset_data(ruleset), catalog)
    now = current(engine)
    if now is not None and digest(now.ruleset) == digest(ruleset):
        raise StoreError(f"nothing to publish: the draft is the same as {now.label}")
    before = yamlio.dump(now.ruleset) if now else ""
    with engine.begin() as conn:
        vid, label = _append_version(conn, actor, ruleset, note, None)
        diff = diff_text(before, yamlio.dump(ruleset), now.label if now else "nothing", label)
        _audit(conn, actor, "publish", label, diff)
    return get_version(engine, vid)  # type: ignore[return-value]


def restore(engine: Engine, actor: str, ref: int | str) -> Version:
    """Publish an earlier version's rules again (as a new version) and reset the draft to
    them; the draft it replaces stays readable in the audit log."""
    old = get_version(engine, ref)
    if old is None:
        raise StoreError(f"no version {ref!r}")
    now = current(engine)
    before_draft = yamlio.dump(draft(engine))
    with engine.begin() as conn:
        vid, label = _append_version(conn, actor, old.ruleset, f"restored {old.label}", old.id)
        before = yamlio.dump(now.ruleset) if now else ""
        diff = diff_text(before, yamlio.dump(old.ruleset), now.label if now else "nothing", label)
        _audit(conn, actor, "restore", f"{label} (from {old.label})", diff)
        _write_draft(conn, actor, old.ruleset)
        after_draft = yamlio.dump(old.ruleset)
        if after_draft != before_draft:
            _audit(
                conn,
                actor,
                "reset-draft",
                "draft",
                diff_text(before_draft, after_draft, "draft", label),
            )
    return get_version(engine, vid)  # type: ignore[return-value]


# ---- the audit log -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    id: int
    ts: datetime
    actor: str
    action: str
    target: str
    diff: str

    @property
    def added(self) -> int:
        return sum(1 for x in self.diff.splitlines() if x[:1] == "+" and x[:3] != "+++")

    @property
    def removed(self) -> int:
        return sum(1 for x in self.diff.splitlines() if x[:1] == "-" and x[:3] != "---")


def audit(engine: Engine, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    q = select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(db.audit_log.c.id < before_id)
    with engine.connect() as conn:
        return [AuditEntry(**r) for r in conn.execute(q).mappings()]
