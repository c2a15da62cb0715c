"""Versioning, the audit log and YAML round trips through the `storefront rules` command, on a
real database (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from storefront.rules import store, yamlio
from storefront.rules.schema import Rule
from storefront.rules.validate import RulesError
from tests.conftest import ROOT, run_cli
from tests.integration.rules_support import (
    catalog_of,
    clean_rules,  # noqa: F401 - fixture
    publish,
)

pytestmark = pytest.mark.usefixtures("clean_rules")


def rule(name: str, **then) -> Rule:
    return Rule.model_validate({"name": name, "then": then or {"remove": ["seasonal"]}})


def env_of(shop_env) -> dict:
    return {
        "STOREFRONT_DATABASE_URL": shop_env["database_url"],
        "STOREFRONT_REDIS_URL": shop_env["redis_url"],
    }


def test_draft_edits_publish_restore_and_audit(app):
    engine = app.extensions["db"]
    a = store.save_rule(engine, "ann", rule("A"))
    store.save_rule(engine, "ann", rule("B", remove=["trending"]))
    v1 = store.publish(engine, "pat", note="first")
    assert v1.label.startswith(f"v{v1.id}-") and [r.name for r in v1.ruleset.rules] == ["A", "B"]
    with pytest.raises(store.StoreError, match="nothing to publish"):
        store.publish(engine, "pat")
    store.set_enabled(engine, "ann", a, False)
    store.delete_rule(engine, "ann", store.draft_rules(engine)[1].id)
    v2 = store.publish(engine, "pat")
    assert [(r.name, r.enabled) for r in v2.ruleset.rules] == [("A", False)]
    assert store.current(engine).label == v2.label
    # versions are immutable: v1 still reads as it was published
    assert [r.name for r in store.get_version(engine, v1.id).ruleset.rules] == ["A", "B"]
    v3 = store.restore(engine, "pat", f"v{v1.id}")
    assert v3.restored_from == v1.id and v3.ruleset == v1.ruleset and v3.id > v2.id
    assert store.draft(engine) == v1.ruleset  # the draft starts again from what is live
    actions = [(e.actor, e.action, e.target) for e in reversed(store.audit(engine))]
    assert actions[:4] == [
        ("ann", "create", "A"),
        ("ann", "create", "B"),
        ("pat", "publish", v1.label),
        ("ann", "disable", "A"),
    ]
    assert actions[4:6] == [("ann", "delete", "B"), ("pat", "publish", v2.label)]
    assert actions[6][1] == "restore" and actions[7][1] == "reset-draft"
    entries = {e.action: e for e in store.audit(engine)}
    assert (
        "-enabled: true" not in entries["disable"].diff
        and "+  enabled: false" in entries["disable"].diff
    )
    assert "-- name: B" in entries["delete"].diff
    assert (
        f"+++ {v1.label}" in entries["publish"].diff or f"+++ {v2.label}" in entries["publish"].diff
    )


def test_a_stale_edit_is_refused(app):
    engine = app.extensions["db"]
    rid = store.save_rule(engine, "ann", rule("A"))
    opened = store.get_rule(engine, rid).stamp
    store.save_rule(engine, "bob", rule("A", remove=["trending"]), rid, opened)
    with pytest.raises(store.StoreError, match="bob changed rule 'A' since you opened it"):
        store.save_rule(engine, "ann", rule("A", remove=["for-you"]), rid, opened)


def test_names_are_unique_and_rules_are_checked_in_their_set(app):
    engine = app.extensions["db"]
    store.save_rule(engine, "ann", rule("A"))
    with pytest.raises(RulesError, match="another rule has this name"):
        store.save_rule(engine, "ann", rule("a"))
    bad = Rule.model_validate({"name": "C", "then": {"pin": [{"product": "NOPE"}]}})
    with pytest.raises(RulesError, match="no product 'NOPE'"):
        store.save_rule(engine, "ann", bad, catalog=catalog_of(app))
    assert [d.rule.name for d in store.draft_rules(engine)] == ["A"]


YAML = """\
rules:
  - name: Evening gifts
    priority: 40
    when: {device: mobile, daypart: evening}
    then:
      add:
        - {id: gifts, strategy: category_top, title: Gifts, params: {category: party}, position: 1}
  - name: Quiet Christmas
    when: {not: {month: 12}}
    then:
      hide: {categories: [christmas]}
"""


def test_yaml_import_export_round_trip_through_the_command(app, shop_env, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(YAML)
    env = env_of(shop_env)
    out = run_cli(shop_env["home"], "rules", "validate", str(path), env=env)
    assert "2 rules, valid" in out
    run_cli(
        shop_env["home"], "rules", "import", str(path), "--publish", "--note", "from git", env=env
    )
    engine = app.extensions["db"]
    live = store.current(engine)
    assert live.note == "from git" and [r.name for r in live.ruleset.rules] == [
        "Evening gifts",
        "Quiet Christmas",
    ]
    exported = run_cli(shop_env["home"], "rules", "export", env=env)
    assert yamlio.load(exported) == yamlio.load(YAML)
    again = tmp_path / "again.yaml"
    again.write_text(exported)
    run_cli(shop_env["home"], "rules", "import", str(again), env=env)
    assert run_cli(shop_env["home"], "rules", "export", env=env) == exported  # stable text
    published = run_cli(shop_env["home"], "rules", "export", "--published", env=env)
    assert f"version {live.label}" in published
    assert live.label in run_cli(shop_env["home"], "rules", "versions", env=env)


def test_a_refused_import_changes_nothing_and_names_rule_field_line(app, shop_env, tmp_path):
    engine = app.extensions["db"]
    publish(app, [{"name": "Keep me", "then": {"remove": ["seasonal"]}}])
    before = (
        yamlio.dump(store.draft(engine)),
        len(store.audit(engine)),
        store.current(engine).label,
    )
    path = tmp_path / "bad.yaml"
    path.write_text(YAML.replace("daypart: evening", "daypart: evenin"))
    result = subprocess.run(
        [sys.executable, "-m", "storefront.cli", "rules", "import", str(path), "--publish"],
        cwd=ROOT,
        env={
            **os.environ,
            "STOREFRONT_HOME": str(shop_env["home"]),
            **env_of(shop_env),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "refused, nothing was changed" in result.stderr
    assert "line 4: rule 'Evening gifts': when.daypart: 'evenin'" in result.stderr
    after = (
        yamlio.dump(store.draft(engine)),
        len(store.audit(engine)),
        store.current(engine).label,
    )
    assert after == before


def test_restore_and_users_through_the_command(app, shop_env):
    env = env_of(shop_env)
    first = publish(app, [{"name": "One", "then": {"remove": ["seasonal"]}}])
    publish(app, [{"name": "Two", "then": {"remove": ["trending"]}}])
    out = run_cli(shop_env["home"], "rules", "restore", f"v{first.id}", env=env)
    assert f"a copy of version {first.id}" in out
    assert [r.name for r in store.current(app.extensions["db"]).ruleset.rules] == ["One"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "storefront.cli",
            "users",
            "create",
            "--role",
            "publisher",
            "pia",
            "--password-stdin",
        ],
        cwd=ROOT,
        env={**os.environ, "STOREFRONT_HOME": str(shop_env["home"]), **env},
        input="correct horse battery\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    from storefront.admin import users

    assert (
        users.authenticate(app.extensions["db"], "pia", "correct horse battery").role == "publisher"
    )
    assert users.authenticate(app.extensions["db"], "pia", "wrong password!") is None
    assert "pia  publisher" in run_cli(shop_env["home"], "users", "list", env=env)
    created = [e for e in store.audit(app.extensions["db"]) if e.action == "user-create"]
    assert created[0].target == "pia" and created[0].actor.startswith("cli")
