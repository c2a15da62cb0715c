"""Publishing, the versions (with restore) and the audit log with its diffs."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from storefront.admin import auth, bp
from storefront.admin.forms import ActionForm, PublishForm
from storefront.admin.views import actor, catalog, engine
from storefront.rules import store, yamlio
from storefront.rules.conflicts import find_conflicts
from storefront.rules.validate import RulesError


@bp.route("/publish", methods=["GET", "POST"])
@auth.requires("viewer")  # anyone may review; publishing checks the publisher role
def publish():
    form = PublishForm()
    problems = []
    if request.method == "POST":
        if not g.admin_user.can("publisher"):
            abort(403, description="publishing needs the publisher role")
        if not form.validate_on_submit():
            abort(400, description="csrf_token: missing or invalid")
        try:
            version = store.publish(engine(), actor(), form.note.data or None, catalog())
        except RulesError as exc:
            problems = exc.problems
        except store.StoreError as exc:
            flash(str(exc))
            return redirect(url_for("admin.publish"), code=303)
        else:
            current_app.extensions["rules"].reload()  # this worker now; the others poll
            flash(f"Published {version.label}: shoppers get it within seconds.")
            return redirect(url_for("admin.versions"), code=303)
    draft = store.draft(engine())
    now = store.current(engine())
    diff = store.diff_text(
        yamlio.dump(now.ruleset) if now else "",
        yamlio.dump(draft),
        now.label if now else "nothing published",
        "draft",
    )
    return (
        render_template(
            "admin/publish.html",
            form=form,
            diff=diff,
            published=now,
            draft=draft,
            conflicts=find_conflicts(draft.rules, catalog()),
            problems=problems,
        ),
        400 if problems else 200,
    )


@bp.get("/versions")
@auth.requires("viewer")
def versions():
    return render_template(
        "admin/versions.html", versions=store.versions(engine()), action=ActionForm()
    )


@bp.get("/versions/<int:version_id>")
@auth.requires("viewer")
def version(version_id: int):
    v = store.get_version(engine(), version_id)
    if v is None:
        abort(404, description=f"no version {version_id}")
    older = [x for x in store.versions(engine()) if x.id < v.id]
    before = older[0] if older else None
    diff = store.diff_text(
        yamlio.dump(before.ruleset) if before else "",
        yamlio.dump(v.ruleset),
        before.label if before else "nothing",
        v.label,
    )
    return render_template(
        "admin/version.html",
        v=v,
        yaml=yamlio.dump(v.ruleset, f"version {v.label}"),
        diff=diff,
        before=before,
        live=store.latest_label(engine()),
        action=ActionForm(),
    )


@bp.post("/versions/<int:version_id>/restore")
@auth.requires("publisher")
def restore(version_id: int):
    if not ActionForm().validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    try:
        v = store.restore(engine(), actor(), version_id)
    except store.StoreError as exc:
        abort(404, description=str(exc))
    current_app.extensions["rules"].reload()
    flash(f"Published {v.label}, a copy of version {version_id}; the draft is reset to it.")
    return redirect(url_for("admin.versions"), code=303)


@bp.get("/audit")
@auth.requires("viewer")
def audit():
    before = request.args.get("before", "")
    before_id = store.parse_id(before)
    entries = store.audit(current_app.extensions["db"], 50, before_id)
    return render_template("admin/audit.html", entries=entries)
