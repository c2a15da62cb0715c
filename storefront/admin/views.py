"""Studio views: sign-in, the rules list, the rule form, a rule's YAML, the draft's YAML."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from storefront.admin import auth, bp, pickers, rule_check, summary, users
from storefront.admin.forms import ActionForm, LoginForm, YamlForm
from storefront.admin.rule_form import form_shows, make_form, picker_data, rule_from_form
from storefront.model_holder import snapshot
from storefront.rules import store, yamlio
from storefront.rules.conflicts import conflicts_of, find_conflicts
from storefront.rules.schema import Rule, precedence, to_data
from storefront.rules.validate import Problem, RulesError


def engine():
    return current_app.extensions["db"]


def catalog():
    return snapshot().catalog


def actor() -> str:
    return g.admin_user.username


# ---- signing in ------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    status = 200
    retry: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            error, status = "Enter your user name and password.", 400
        else:
            name = form.username.data.strip().lower()
            wait = auth.too_many_attempts(name)
            if wait:
                minutes = max(1, round(wait / 60))
                error, status = f"Too many attempts. Try again in {minutes} minutes.", 429
                retry = {"Retry-After": str(wait)}
            else:
                user = users.authenticate(engine(), name, form.password.data)
                if user is None:
                    auth.record_failure(name)
                    error, status = "Wrong user name or password.", 401
                else:
                    auth.clear_failures(name)
                    return auth.sign_in(user, redirect(auth.safe_next(form.next.data), code=303))
    return render_template("admin/login.html", form=form, error=error), status, retry


@bp.post("/logout")
@auth.requires("viewer")
def logout():
    if not ActionForm().validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    auth.sign_out()
    return redirect(url_for("admin.login"), code=303)


@bp.get("/")
@auth.requires("viewer")
def index():
    return redirect(url_for("admin.rules"))


# ---- the rules list --------------------------------------------------------------------------


def _status(rule: Rule, live: dict[str, Rule]) -> str:
    old = live.get(rule.name)
    if old is None:
        return "new"
    return "published" if to_data(old) == to_data(rule) else "changed"


def _product_codes(rule: Rule) -> list[str]:
    """The product codes a rule's summary names: its pins' and its hide's."""
    hidden = rule.then.hide.products if rule.then.hide is not None else []
    return [*(p.product for p in rule.then.pin), *hidden]


@bp.get("/rules")
@auth.requires("viewer")
def rules():
    drafts = sorted(store.draft_rules(engine()), key=lambda d: precedence(d.rule))
    now = store.current(engine())
    live = {r.name: r for r in now.ruleset.rules} if now else {}
    found = find_conflicts([d.rule for d in drafts], catalog())
    per_rule: dict[str, int] = {}
    for c in found:
        for name in c.rules:
            per_rule[name] = per_rule.get(name, 0) + 1
    added = pickers.added_slots([d.rule for d in drafts])

    def slot_of(rule: Rule):
        pages = list(rule.when.page or ())
        return lambda sid: pickers.slot_named(sid, pages, added)

    codes = [c for d in drafts for c in _product_codes(d.rule)]
    known = pickers.known_products(codes)

    def product(code: str) -> str:
        return pickers.product_named(known[code])

    rows = [
        {
            "d": d,
            "when": summary.conditions(d.rule.when),
            "then": summary.effects(d.rule.then, slot_of(d.rule), product),
            "schedule": summary.schedule(d.rule),
            "status": _status(d.rule, live),
            "conflicts": per_rule.get(d.rule.name, 0),
        }
        for d in drafts
    ]
    draft_names = {d.rule.name for d in drafts}
    removed = sorted(n for n in live if n not in draft_names)
    return render_template(
        "admin/rules.html",
        rows=rows,
        conflicts=found,
        published=now,
        removed=removed,
        action=ActionForm(),
    )


# ---- one rule: the form ----------------------------------------------------------------------


def _others(rule_id: int | None) -> list[Rule]:
    return [d.rule for d in store.draft_rules(engine()) if d.id != rule_id]


def _edit(rule_id: int | None):
    found = store.get_rule(engine(), rule_id) if rule_id is not None else None
    if rule_id is not None and found is None:
        abort(404, description=f"no rule #{rule_id} in the draft")
    if found is not None and not form_shows(found.rule.when):
        flash("This rule combines conditions with any/all/not: edit it as YAML.")
        return redirect(url_for("admin.rule_yaml", rule_id=rule_id))
    problems: list[Problem] = []
    conflicts: list = []
    check_summary = ""
    if request.method == "POST":
        if not g.admin_user.can("editor"):
            abort(403, description="editing rules needs the editor role")
        form = make_form(formdata=request.form)
        if not form.validate_on_submit():
            problems = [
                Problem(form.name.data or None, field, "; ".join(map(str, errs)))
                for field, errs in form.errors.items()
            ]
        else:
            rule, problems = rule_from_form(form)
            if rule is not None and request.form.get("action") == "check":
                checked = rule_check.check(rule, rule_id)
                problems, conflicts = checked.problems, checked.conflicts
                check_summary = checked.summary()
            elif rule is not None:
                try:
                    new_id = store.save_rule(
                        engine(), actor(), rule, rule_id, form.stamp.data or None, catalog()
                    )
                except RulesError as exc:
                    problems = exc.problems
                except store.StoreError as exc:
                    problems = [Problem(rule.name, "", str(exc))]
                else:
                    conflicts = conflicts_of(rule, _others(new_id), catalog())
                    flash(f"Saved {rule.name!r} in the draft.")
                    for c in conflicts:
                        flash("Conflict: " + c.message())
                    return redirect(url_for("admin.rule", rule_id=new_id), code=303)
        status = 400 if problems else 200
    else:
        form = make_form(found.rule if found else None, stamp=found.stamp if found else "")
        if found is not None:
            conflicts = conflicts_of(found.rule, _others(rule_id), catalog())
        status = 200
    return (
        render_template(
            "admin/rule_form.html",
            form=form,
            found=found,
            problems=problems,
            conflicts=conflicts,
            checked=bool(check_summary),
            summary=check_summary,
            action=ActionForm(),
            yaml=yamlio.dump_rule(found.rule) if found else "",
            **picker_data(form, _others(rule_id)),
        ),
        status,
    )


@bp.route("/rules/new", methods=["GET", "POST"])
@auth.requires("editor")
def rule_new():
    return _edit(None)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@auth.requires("viewer")  # viewers read it; saving checks the editor role
def rule(rule_id: int):
    return _edit(rule_id)


@bp.post("/rules/<int:rule_id>/toggle")
@auth.requires("editor")
def rule_toggle(rule_id: int):
    if not ActionForm().validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    found = store.get_rule(engine(), rule_id)
    if found is None:
        abort(404, description=f"no rule #{rule_id} in the draft")
    store.set_enabled(engine(), actor(), rule_id, not found.rule.enabled)
    state = "disabled" if found.rule.enabled else "enabled"
    flash(f"{found.rule.name!r} {state} in the draft.")
    return redirect(url_for("admin.rules"), code=303)


@bp.post("/rules/<int:rule_id>/delete")
@auth.requires("editor")
def rule_delete(rule_id: int):
    if not ActionForm().validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    try:
        name = store.delete_rule(engine(), actor(), rule_id)
    except store.StoreError as exc:
        abort(404, description=str(exc))
    flash(f"Deleted {name!r} from the draft.")
    return redirect(url_for("admin.rules"), code=303)


# ---- YAML, for power users -------------------------------------------------------------------


@bp.route("/rules/<int:rule_id>/yaml", methods=["GET", "POST"])
@auth.requires("viewer")
def rule_yaml(rule_id: int):
    found = store.get_rule(engine(), rule_id)
    if found is None:
        abort(404, description=f"no rule #{rule_id} in the draft")
    form = YamlForm(yaml=yamlio.dump_rule(found.rule))
    problems: list[Problem] = []
    if request.method == "POST":
        if not g.admin_user.can("editor"):
            abort(403, description="editing rules needs the editor role")
        form = YamlForm()
        if form.validate_on_submit():
            try:
                rule, line_of = yamlio.load_rule(form.yaml.data or "")
                store.save_rule(
                    engine(),
                    actor(),
                    rule,
                    rule_id,
                    request.form.get("stamp") or None,
                    catalog(),
                    line_of,
                )
            except RulesError as exc:
                problems = exc.problems
            except store.StoreError as exc:
                problems = [Problem(found.rule.name, "", str(exc))]
            else:
                flash(f"Saved {rule.name!r} in the draft.")
                return redirect(url_for("admin.rule_yaml", rule_id=rule_id), code=303)
        else:
            problems = [Problem(None, "", "the form expired; reload the page")]
    return (
        render_template(
            "admin/yaml.html",
            form=form,
            problems=problems,
            found=found,
            title=f"Rule {found.rule.name} as YAML",
            conflicts=conflicts_of(found.rule, _others(rule_id), catalog()),
        ),
        400 if problems else 200,
    )


@bp.route("/yaml", methods=["GET", "POST"])
@auth.requires("viewer")
def draft_yaml():
    """The whole draft as YAML; saving replaces it whole, or changes nothing if any rule is
    invalid (the problems name rule, field and line)."""
    form = YamlForm(yaml=yamlio.dump(store.draft(engine())))
    problems: list[Problem] = []
    if request.method == "POST":
        if not g.admin_user.can("editor"):
            abort(403, description="editing rules needs the editor role")
        form = YamlForm()
        if not form.validate_on_submit():
            problems = [Problem(None, "", "the form expired; reload the page")]
        else:
            try:
                ruleset = yamlio.load(form.yaml.data or "", catalog())
            except RulesError as exc:
                problems = exc.problems
            else:
                store.replace_draft(engine(), actor(), ruleset, "yaml-edit")
                flash(f"Draft replaced: {len(ruleset.rules)} rules.")
                return redirect(url_for("admin.draft_yaml"), code=303)
    return (
        render_template(
            "admin/yaml.html",
            form=form,
            problems=problems,
            found=None,
            title="The draft as YAML",
            conflicts=find_conflicts(store.draft(engine()).rules, catalog()),
        ),
        400 if problems else 200,
    )


@bp.get("/export.yaml")
@auth.requires("viewer")
def export_yaml():
    body = yamlio.dump(store.draft(engine()))
    response = current_app.response_class(body, mimetype="application/yaml")
    response.headers["Content-Disposition"] = 'attachment; filename="rules.yaml"'
    return response
