"""A model version's fitted numbers in words (`storefront models show`), from its meta.json."""

from __future__ import annotations

import json


def describe(meta: dict) -> list[str]:
    """A model version's fitted numbers in words, with the validation figures that chose them."""
    fitted = meta.get("fitted")
    out = [
        f"Version {meta['version']}: trained on {meta['window']['start']} to "
        f"{meta['window']['end']}, {json.dumps(meta['counts'])}",
    ]
    if not fitted:
        return out + ["Nothing fitted on this store (a version from before per-store fitting)."]
    val = fitted.get("validation", {})
    if val.get("date"):
        out.append(
            f"Validation split {val['date']} inside the training window: "
            f"{val.get('returning_customers', 0):,} returning and "
            f"{val.get('new_customers', 0):,} new customers after it."
        )
    for title, key, serve, weights in (
        ("For you (all purchases)", "all_purchases_ndcg@10", "serve", "weights"),
        ("For you (new products only)", "new_only_ndcg@10", "serve_new", "new_weights"),
    ):
        out.append(f"{title}: serving {fitted[serve]}")
        if key in val:
            out.append(
                "  validation NDCG@10: "
                + ", ".join(f"{name} {score:.4f}" for name, score in val[key].items())
            )
        if fitted[weights]:
            out.append(
                "  weights: " + ", ".join(f"{k} {v:+.3f}" for k, v in fitted[weights].items())
            )
    session = fitted.get("session")
    if session:  # visitors with only a session (session_fit.py); absent in older versions
        out.append(
            f"Visitors with only a session: serving {session['serve']} (the session's products: "
            f"{session['session_products']}; new products only: {session['serve_new']})"
        )
        for key, label in (("all_purchases_ndcg", "all purchases"), ("new_only_ndcg", "new")):
            if key in session:
                out.append(
                    f"  validation NDCG@10 ({label}): "
                    + ", ".join(f"{k} {v:.4f}" for k, v in session[key].items())
                )
    out.append(f"First-time visitors: the {fitted['first_visit']} list")
    if "first_visit_ndcg@10" in val:
        out.append(
            "  validation NDCG@10: "
            + ", ".join(f"{k} {v:.4f}" for k, v in val["first_visit_ndcg@10"].items())
        )
    if fitted.get("repeat_share") is not None:
        again = val.get("bought_again_share")
        out.append(
            f"Repeat share: {fitted['repeat_share']:.3f} of later orders' lines re-order"
            + (
                f"; {again:.3f} of what validation customers bought next they owned"
                if again is not None
                else ""
            )
        )
    share = fitted.get("explore_share")
    out.append(
        f"Exploration share: {share:.3f} (bought next from categories new to the customer), "
        "served unless STOREFRONT_EXPLORE_SHARE is set"
        if share is not None
        else "Exploration share: STOREFRONT_EXPLORE_SHARE (not fitted)"
    )
    for part, title in (
        ("cold_products", "products nobody bought"),
        ("cold_visitors", "first visits"),
    ):
        cold = fitted.get("lightfm", {}).get(part)
        if cold and "ndcg@10" in cold:
            out.append(
                f"LightFM for {title}: {'served' if cold['serve'] else 'not served'} "
                f"({cold['customers']:,} validation customers; NDCG@10 "
                + ", ".join(f"{k} {v:.4f}" for k, v in cold["ndcg@10"].items())
                + ")"
            )
    out += [f"Note: {note}" for note in fitted.get("notes", [])]
    return out
