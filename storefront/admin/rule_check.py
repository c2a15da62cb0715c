"""The rule form's check, as the rule is written (admin.js posts the form on every change)
and with the Check button: the problems the rest of the set reveals, and the conflicts with
every other rule shoppers get now (the published version) or will get (the draft), each
naming both rules, their priorities and what they disagree on. When nothing is found it says
so, with how many rules it looked at."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, render_template, request

from storefront.admin import auth, bp
from storefront.admin.rule_form import make_form, rule_from_form
from storefront.model_holder import snapshot
from storefront.rules import store
from storefront.rules.conflicts import Conflict, conflicts_of
from storefront.rules.schema import Rule, to_data
from storefront.rules.validate import Problem, RulesError


@dataclass
class Checked:
    """What the check found, and what it compared the rule with."""

    problems: list[Problem] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    live: int = 0  # other rules in the published version
    draft_only: int = 0  # other rules only in the draft (new, or changed since publishing)

    def summary(self) -> str:
        """The sentence shown when no conflict is found."""
        text = f"No conflicts found with {self.live} live rule{'s' if self.live != 1 else ''}"
        if self.draft_only:
            n = self.draft_only
            text += f" and {n} unpublished draft rule{'s' if n != 1 else ''}"
        return text + "."


def _engine():
    return current_app.extensions["db"]


def others(rule_id: int | None) -> tuple[list[Rule], list[Rule]]:
    """The draft's other rules, and the published rules to compare with besides them (live
    rules the draft has changed or removed: shoppers get them until the next publish)."""
    drafts = store.draft_rules(_engine())
    mine = next((d.rule.name for d in drafts if d.id == rule_id), None)
    draft = [d.rule for d in drafts if d.id != rule_id]
    now = store.current(_engine())
    published = [r for r in (now.ruleset.rules if now else ()) if r.name != mine]
    same = {r.name: to_data(r) for r in draft}
    live_extra = [r for r in published if same.get(r.name) != to_data(r)]
    return draft, live_extra


def check(rule: Rule, rule_id: int | None) -> Checked:
    """Problems and conflicts of a rule being written (nothing is saved)."""
    catalog = snapshot().catalog
    draft, live_extra = others(rule_id)
    out = Checked()
    try:
        store.check_in_set(rule, draft, catalog)
    except RulesError as exc:
        out.problems = exc.problems
    compared = [*draft, *(r for r in live_extra if r.name != rule.name)]
    found = conflicts_of(rule, compared, catalog)
    seen: set[tuple] = set()
    for c in found:  # a rule both live and changed in the draft may say the same thing twice
        key = (c.rules, c.what)
        if key not in seen:
            seen.add(key)
            out.conflicts.append(c)
    now = store.current(_engine())
    live_names = {r.name for r in (now.ruleset.rules if now else ())} - {rule.name}
    out.live = len({r.name for r in compared} & live_names)
    out.draft_only = len({r.name for r in draft} - live_names)
    return out


@bp.post("/rules/check")
@auth.requires("viewer")
def rule_check():
    """The rule form, checked as it is being written: problems, and conflicts with the
    other live and draft rules, with the winner of each."""
    form = make_form(formdata=request.form)
    if not form.validate_on_submit():
        problems = [
            Problem(None, field, "; ".join(map(str, errs))) for field, errs in form.errors.items()
        ]
        return render_template("admin/_check.html", problems=problems, conflicts=[], checked=True)
    rule_id = store.parse_id(request.form.get("rule_id", ""))
    rule, problems = rule_from_form(form)
    result = Checked(problems=problems)
    if rule is not None:
        result = check(rule, rule_id)
    return render_template(
        "admin/_check.html",
        problems=result.problems,
        conflicts=result.conflicts,
        checked=True,
        summary=result.summary(),
    )
