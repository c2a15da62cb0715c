"""The evaluation report: a terminal table, Markdown with PNG plots, and the JSON it came from."""

from __future__ import annotations

import json
from pathlib import Path

METRICS = ("ndcg@10", "recall@20", "map@10", "coverage@10", "novelty@10")
GROUP_TITLES = {
    "all": "All customers who bought after the split",
    "returning": "Returning customers (bought before the split)",
    "new": "New customers, first visit (country only)",
    "new_session": "New customers after their first order (folded in as the session)",
}
SERVED_NAMES = {
    "for_you": "served: for-you rail",
    "blend": "served: blend, before page policies",
    "als_plain": "served: plain ALS",
    "buy_again": "served: buy again (+ popularity)",
}
PROTOCOLS = {
    "groups": "all purchases",
    "new_only": "new products only (owned products left out of ranking and truth)",
}


def rows(result: dict) -> list[tuple[str, dict]]:
    """(label, entry) for every model and every served variant, in report order."""
    out = [(name, entry) for name, entry in result["models"].items()]
    out += [(SERVED_NAMES.get(k, k), v) for k, v in result.get("served", {}).items()]
    return out


def table(
    result: dict, group: str = "all", markdown: bool = False, protocol: str = "groups"
) -> str:
    """One group's metrics for every model under one protocol ("groups": all purchases,
    "new_only": new products only), as aligned text or a Markdown table."""
    head = ["model", "users", *METRICS, "fit s"]
    body = []
    for label, entry in rows(result):
        m = entry.get(protocol, {}).get(group, {})
        if not m.get("users"):
            continue
        body.append(
            [label, f"{m['users']:,}"]
            + [f"{m[k]:.4f}" if k != "novelty@10" else f"{m[k]:.2f}" for k in METRICS]
            + [f"{entry.get('fit_seconds', 0):.1f}"]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 7) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    return _aligned(head, body)


def _aligned(head: list[str], body: list[list[str]]) -> str:
    """A text table: the first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    fmt = lambda r: "  ".join(  # noqa: E731
        str(x).ljust(w) if i == 0 else str(x).rjust(w)
        for i, (x, w) in enumerate(zip(r, widths, strict=True))
    )
    return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def comparison_table(result: dict, protocol: str = "groups", markdown: bool = False) -> str:
    """The served rail beside popularity, buy again, the best bare model and EASE (NDCG@10),
    per group, from result["comparison"] (evaluate.compare)."""
    head = ["group", "customers", "served", "popularity", "buy again", "best bare", "EASE"]
    body = []
    for group, row in result.get("comparison", {}).get(protocol, {}).items():
        if not row["customers"]:
            continue
        best = row.get("best_bare")
        body.append(
            [group, f"{row['customers']:,}", f"{row['served']:.4f}"]
            + [f"{row[k]:.4f}" if k in row else "-" for k in ("popularity", "buy_again")]
            + [f"{row['best_bare_ndcg@10']:.4f} ({best})" if best else "-"]
            + [f"{row['ease']:.4f}" if "ease" in row else "-"]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 6) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    return _aligned(head, body)


def plots(result: dict, out: Path) -> list[str]:
    """Write the PNGs and return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [label for label, _ in rows(result)]
    entries = [entry for _, entry in rows(result)]
    groups = [g for g in GROUP_TITLES if any(e["groups"].get(g, {}).get("users") for e in entries)]
    names = []

    fig, ax = plt.subplots(figsize=(9, 0.5 * len(labels) + 1.5))
    height = 0.8 / max(len(groups), 1)
    y = np.arange(len(labels))
    for k, g in enumerate(groups):
        vals = [e["groups"].get(g, {}).get("ndcg@10", 0.0) for e in entries]
        ax.barh(y + k * height, vals, height, label=g)
    ax.set_yticks(y + height * (len(groups) - 1) / 2, labels)
    ax.invert_yaxis()
    ax.set_xlabel("NDCG@10")
    ax.set_title(f"NDCG@10 by model and customer group (split {result['split_date']})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "ndcg_by_group.png", dpi=110)
    plt.close(fig)
    names.append("ndcg_by_group.png")

    fig, axes = plt.subplots(1, 4, figsize=(14, 0.45 * len(labels) + 1.5), sharey=True)
    for ax, metric in zip(axes, ("recall@20", "map@10", "coverage@10", "novelty@10"), strict=True):
        vals = [e["groups"].get("all", {}).get(metric, 0.0) for e in entries]
        ax.barh(labels, vals, color="tab:blue")
        ax.set_title(metric)
    axes[0].invert_yaxis()
    fig.suptitle("All customers: recall, precision, catalog coverage and novelty")
    fig.tight_layout()
    fig.savefig(out / "metrics_all.png", dpi=110)
    plt.close(fig)
    names.append("metrics_all.png")

    fig, ax = plt.subplots(figsize=(7, 5))
    for label, e in zip(labels, entries, strict=True):
        m = e["groups"].get("all", {})
        ax.scatter(m.get("coverage@10", 0), m.get("ndcg@10", 0))
        ax.annotate(label, (m.get("coverage@10", 0), m.get("ndcg@10", 0)), fontsize=8)
    ax.set_xlabel("catalog coverage of the top 10")
    ax.set_ylabel("NDCG@10")
    ax.set_title("Accuracy against breadth (all customers)")
    fig.tight_layout()
    fig.savefig(out / "ndcg_vs_coverage.png", dpi=110)
    plt.close(fig)
    names.append("ndcg_vs_coverage.png")
    return names


def markdown(result: dict, images: list[str], command: str) -> str:
    c = result["counts"]
    parts = [
        "# Recommender evaluation",
        "",
        f"Command: `{command}`",
        "",
        f"Temporal split at **{result['split_date']}**: trained on {c['train_lines']:,} order "
        f"lines from {result['train_window'][0]} to {result['train_window'][1]} "
        f"({c['train_users']:,} customers, {c['items']:,} products, "
        f"{c['interactions']:,} interactions); tested on {c['test_lines']:,} customer lines "
        f"from {result['test_window'][0]} to {result['test_window'][1]}. "
        f"Finished in {result['seconds']:.1f} s.",
        "",
        "Relevance is binary: a product is relevant when the customer bought it after the "
        "split. Two protocols: all purchases (re-orders included), and new products only "
        "(what the customer already owned is left out of both the ranking and the truth). "
        "Protocol and metric definitions: docs/evaluation.md.",
        "",
        "## Targets",
        "",
    ]
    for key, value in result.get("targets", {}).items():
        parts.append(f"- {key}: **{value}**")
    for protocol, what in PROTOCOLS.items():
        if result.get("comparison", {}).get(protocol):
            parts += ["", f"## The served rail against the baselines: {what}", ""]
            parts.append(comparison_table(result, protocol, markdown=True))
    for protocol, what in PROTOCOLS.items():
        for group, title in GROUP_TITLES.items():
            if any(e.get(protocol, {}).get(group, {}).get("users") for _, e in rows(result)):
                table_md = table(result, group, markdown=True, protocol=protocol)
                parts += ["", f"## {title}: {what}", "", table_md]
    parts += ["", "## Plots", ""] + [f"![{name}]({name})" for name in images]
    parts += ["", "## Parameters", "", "```json", json.dumps(result["params"], indent=2), "```"]
    return "\n".join(parts) + "\n"


def write(result: dict, out: Path, command: str) -> Path:
    """report.md, results.json and the plots under `out`; returns the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    images = plots(result, out)
    path = out / "report.md"
    path.write_text(markdown(result, images, command))
    return path
