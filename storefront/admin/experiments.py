"""Studio views for experiments: list, create (with targeting), start, stop, results, CSV.

Reading needs the viewer role; creating, starting and stopping the publisher role, because an
experiment changes what shoppers see as surely as publishing rules does. Every change goes to
the audit log next to the rules' changes.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from storefront.admin import auth, bp, charts, pickers, summary
from storefront.admin.forms import METRIC_LABELS, ActionForm, ExperimentForm
from storefront.admin.rule_form import split
from storefront.admin.views import actor, engine
from storefront.experiments import metrics, report, store
from storefront.rules import store as rules_store
from storefront.rules import yamlsafe


def _holdout() -> float:
    return current_app.config["SETTINGS"].holdout_share


def _choices() -> dict[str, list[str]]:
    """What an arm can serve, per kind: shown next to the form, and checked on save."""
    from recommender import registry
    from storefront import strategies

    settings = current_app.config["SETTINGS"]
    return {
        "strategy": sorted(strategies.REGISTRY),
        "model": list(reversed(registry.versions(settings.models_dir)))[:20],
        "rules": [v.label for v in rules_store.versions(engine(), limit=20)],
    }


def _targeting(form: ExperimentForm) -> tuple[dict[str, Any] | None, list[str]]:
    quick: dict[str, Any] = {}
    for name in ("device", "channel", "recency"):
        if getattr(form, name).data:
            quick[name] = list(getattr(form, name).data)
    for name in ("country", "segment"):
        if split(getattr(form, name).data):
            quick[name] = split(getattr(form, name).data)
    extra: Any = None
    if (form.conditions.data or "").strip():
        try:
            extra = yamlsafe.safe_load(form.conditions.data)
        except yamlsafe.YamlRefused as exc:
            return None, [f"conditions: {exc}"]
        except yaml.YAMLError as exc:
            return None, [f"conditions: not YAML ({getattr(exc, 'problem', None) or exc})"]
        if not isinstance(extra, dict):
            return None, ["conditions: write conditions as a mapping, e.g. device: mobile"]
    if quick and extra:
        return {"all": [quick, extra]}, []
    return (quick or extra or None), []


def _spec_data(form: ExperimentForm) -> dict[str, Any]:
    arms = []
    for row in form.arms:
        r = row.form
        if (r.name.data or "").strip() or (r.value.data or "").strip():
            share = float(r.share.data) / 100 if r.share.data is not None else 0.0
            arms.append(
                {"name": (r.name.data or "").strip(), "share": share, "value": r.value.data or ""}
            )
    if arms and all(a["share"] == 0 for a in arms):  # no shares given: split evenly
        for a in arms:
            a["share"] = 1 / len(arms)
    name = (form.name.data or "").strip()
    return {
        "id": (form.id.data or "").strip() or store.slug(name),
        "name": name,
        "kind": form.kind.data,
        "page": form.page.data,
        "slot": form.slot.data or None,
        "metric": form.metric.data,
        "arms": arms,
    }


def _arm_values_exist(spec: store.ExperimentSpec, choices: dict[str, list[str]]) -> list[str]:
    if spec.kind == "strategy":
        return []  # the spec checks strategies itself
    if spec.kind == "model":
        from recommender import registry

        known = set(registry.versions(current_app.config["SETTINGS"].models_dir))
    else:
        known = {v.label for v in rules_store.versions(engine(), limit=10_000)}
    return [
        f"arms.{i}.value: no {spec.kind} version {a.value!r}"
        for i, a in enumerate(spec.arms)
        if a.value not in known
    ]


@bp.get("/experiments")
@auth.requires("viewer")
def experiments():
    return render_template(
        "admin/experiments.html",
        experiments=store.list_all(engine()),
        summarize=_summary,
        slot_label=_slot_labels(),
        action=ActionForm(),
    )


def _slot_labels():
    """slot_label(sid, page) -> (“its title” as on that page, its id) for the templates; the
    event log's "-" (no slot) and "direct" (no click led to the purchase) stay as they are."""
    added = pickers.added_slots([d.rule for d in rules_store.draft_rules(engine())])

    def slot_label(sid: str, page: str) -> tuple[str, str]:
        if sid in ("-", "direct"):
            return sid, ""
        return pickers.slot_label(sid, [page], added)

    return slot_label


def _summary(exp: store.Experiment) -> str:
    return summary.conditions(exp.when) if exp.when is not None else "every visitor of the page"


@bp.route("/experiments/new", methods=["GET", "POST"])
@auth.requires("publisher")
def experiment_new():
    form = ExperimentForm()
    choices = _choices()
    problems: list[str] = []
    if request.method == "GET":
        form.arms[0].form.name.data, form.arms[0].form.share.data = "control", 50
        form.arms[1].form.name.data, form.arms[1].form.share.data = "treatment", 50
    elif not form.validate_on_submit():
        problems = [f"{f}: {'; '.join(map(str, e))}" for f, e in form.errors.items()]
    else:
        data = _spec_data(form)
        conditions, problems = _targeting(form)
        if not problems:
            try:
                spec = store.ExperimentSpec(**data, conditions=conditions)
            except ValidationError as exc:
                problems = store.problems(exc)
            else:
                problems = _arm_values_exist(spec, choices)
                if not problems:
                    try:
                        exp = store.create(engine(), spec)
                    except ValueError as exc:
                        problems = [str(exc)]
                    else:
                        rules_store.record(
                            engine(), actor(), "experiment-create", exp.id, yaml.safe_dump(data)
                        )
                        flash(f"Created {exp.name!r} as a draft: start it when ready.")
                        return redirect(url_for("admin.experiment", experiment_id=exp.id), 303)
    return (
        render_template(
            "admin/experiment_form.html",
            form=form,
            problems=problems,
            choices=choices,
            metrics=METRIC_LABELS,
            slots=pickers.slot_groups(form.slot.data, [form.page.data]),
        ),
        400 if problems else 200,
    )


def _found(experiment_id: str) -> store.Experiment:
    try:
        return store.get(engine(), experiment_id)
    except LookupError:
        abort(404, description=f"no experiment {experiment_id!r}")


@bp.get("/experiments/<experiment_id>")
@auth.requires("viewer")
def experiment(experiment_id: str):
    exp = _found(experiment_id)
    data = report.build(engine(), exp.id, _holdout()) if exp.started else None
    chart_ctr = chart_volume = None
    if data:
        daily = {name: dict(r.daily) for name, r in data["results"].items()}
        chart_ctr = charts.lines("Click-through so far, per arm", charts.cumulative_ctr(daily))
        chart_volume = charts.lines(
            "Impressions per day, per arm", charts.daily_impressions(daily), "{:,.0f}"
        )
    return render_template(
        "admin/experiment.html",
        exp=exp,
        data=data,
        targeting=_summary(exp),
        slot_label=_slot_labels(),
        chart_ctr=chart_ctr,
        chart_volume=chart_volume,
        window_hours=int(metrics.ATTRIBUTION_WINDOW.total_seconds() // 3600),
        metrics=dict(METRIC_LABELS),
        action=ActionForm(),
    )


def _move(experiment_id: str, verb: str):
    if not ActionForm().validate_on_submit():
        abort(400, description="csrf_token: missing or invalid")
    _found(experiment_id)
    try:
        exp = (store.start if verb == "start" else store.stop)(engine(), experiment_id)
    except ValueError as exc:
        flash(str(exc))
    else:
        rules_store.record(engine(), actor(), f"experiment-{verb}", exp.id)
        flash(
            f"Started {exp.name!r}: shoppers get their arms within seconds."
            if verb == "start"
            else f"Stopped {exp.name!r}: every shopper gets the shop without it."
        )
    return redirect(url_for("admin.experiment", experiment_id=experiment_id), 303)


@bp.post("/experiments/<experiment_id>/start")
@auth.requires("publisher")
def experiment_start(experiment_id: str):
    return _move(experiment_id, "start")


@bp.post("/experiments/<experiment_id>/stop")
@auth.requires("publisher")
def experiment_stop(experiment_id: str):
    return _move(experiment_id, "stop")


@bp.get("/experiments/<experiment_id>/results.csv")
@auth.requires("viewer")
def experiment_csv(experiment_id: str):
    exp = _found(experiment_id)
    if not exp.started:
        abort(409, description="status: a draft has no results yet")
    body = report.report_rows(engine(), exp.id, _holdout())
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{exp.id}-results.csv"'
    return response


@bp.get("/exposure")
@auth.requires("viewer")
def exposure():
    """How many impressions each visitor gets, and engagement as exposure grows."""
    return render_template("admin/exposure.html", curve=metrics.exposure_curve(engine()))
