"""An experiment's report: per-arm table, comparisons with intervals, decision; CSV export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storefront import db
from storefront.experiments import metrics, store


def prices(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        return {
            r.id: float(r.price)
            for r in conn.execute(select(db.products.c.id, db.products.c.price))
        }


def build(engine: Engine, experiment_id: str, holdout_share: float) -> dict:
    exp = store.get(engine, experiment_id)
    results = metrics.measure(engine, exp, prices(engine), holdout_share)
    comparisons = metrics.compare(exp, results)
    return {"experiment": exp, "results": results, "comparisons": comparisons}


def report_rows(engine: Engine, experiment_id: str, holdout_share: float) -> str:
    """Per-arm results as CSV, for a spreadsheet."""
    data = build(engine, experiment_id, holdout_share)
    rows = [r.row() for r in data["results"].values()]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def report_text(engine: Engine, experiment_id: str, holdout_share: float) -> str:
    data = build(engine, experiment_id, holdout_share)
    exp = data["experiment"]
    lines = [f"{exp.name} ({exp.id}) — {exp.status}, primary metric {exp.metric}", ""]
    for r in data["results"].values():
        row = r.row()
        lines.append("  ".join(f"{k}={v}" for k, v in row.items()))
    lines.append("")
    for c in data["comparisons"]:
        lift = f"{c.lift:+.1%}" if c.lift is not None else "n/a"
        lines.append(
            f"{c.metric}: control {c.control:.4f} vs treatment {c.treatment:.4f} "
            f"(lift {lift}, 95% CI of difference [{c.ci_low:+.4f}, {c.ci_high:+.4f}], "
            f"p={c.p_value:.3g}); n {c.n_control}/{c.n_treatment} of {c.n_needed} "
            f"needed per arm -> {c.decision}"
        )
    return "\n".join(lines)
