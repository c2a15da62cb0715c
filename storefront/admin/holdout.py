"""Studio view of the permanent holdout: personalized visitors against the non-personalized
holdout over a chosen period, with intervals and sample sizes, and as CSV (viewer role)."""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from storefront.admin import auth, bp
from storefront.admin.views import engine
from storefront.experiments import holdout


def _report() -> holdout.HoldoutReport:
    """The period from the query (?days=N, or ?from=&to= dates): a 400 naming the field."""
    args = request.args
    try:
        window = holdout.period(args.get("days"), args.get("from"), args.get("to"))
    except holdout.PeriodError as exc:
        abort(400, description=str(exc))
    return holdout.build(engine(), window, current_app.config["SETTINGS"].holdout_share)


@bp.get("/holdout")
@auth.requires("viewer")
def holdout_page():
    report = _report()
    return render_template(
        "admin/holdout.html",
        report=report,
        metrics=holdout.METRICS,
        periods=holdout.PERIODS,
        show=holdout.show,
        query={k: v for k, v in request.args.items() if k in ("days", "from", "to") and v},
    )


@bp.get("/holdout.csv")
@auth.requires("viewer")
def holdout_csv():
    report = _report()
    name = f"holdout-{report.period.first_day}-{report.period.last_day}.csv"
    response = current_app.response_class(report.csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
