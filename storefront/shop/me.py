"""/me, the preference center: what the shop inferred, and the shopper's controls over it.

Every change applies to the very next page (the session version is bumped, and mutes are part
of the fragment keys). Export gives everything as JSON; delete leaves no row or key behind (a
signed-in customer's orders and account included) and puts them in the deletion ledger, so the
next training leaves them out (storefront/privacy.py).
"""

from __future__ import annotations

from flask import abort, current_app, g, jsonify, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired, Regexp

from storefront import privacy
from storefront.model_holder import snapshot
from storefront.preferences import SIGNALS, Preferences, signal_off
from storefront.shop.views import bp
from storefront.visitor import switch_visitor

ACTIONS = ("signal-on", "signal-off", "mute", "unmute", "drop", "delete")


class PrefForm(FlaskForm):
    action = HiddenField(validators=[DataRequired(), AnyOf(ACTIONS)])
    value = HiddenField(validators=[Regexp(r"^[a-z0-9_:-]{0,64}$")])


def _prefs() -> Preferences:
    return Preferences(current_app.extensions["redis"], current_app.extensions["sessions"])


@bp.get("/me")
def me():
    ctx = g.context
    snap = snapshot()
    prefs = ctx.session.prefs
    signals = {name: not signal_off(prefs, name) for name in SIGNALS}
    viewed = [snap.catalog.get(p) for p in ctx.session.views[:10]]
    return render_template(
        "shop/me.html",
        ctx=ctx,
        page="me",
        catalog=snap.catalog,
        form=PrefForm(),
        signals=signals,
        personalization=prefs.get("off:personalization") != "1",
        viewed=[p for p in viewed if p is not None],
        model_version=snap.model_version,
        holdout_share=current_app.config["SETTINGS"].holdout_share,
    )


@bp.post("/me")
def me_update():
    form = PrefForm()
    if not form.validate_on_submit():
        abort(400, description="invalid preference change: " + ", ".join(sorted(form.errors)))
    action, value = form.action.data, form.value.data or ""
    visitor = g.context.visitor_id
    prefs = _prefs()
    catalog = snapshot().catalog
    if action in ("signal-on", "signal-off"):
        if value not in (*SIGNALS, "personalization"):
            abort(400, description=f"value: unknown signal {value!r}")
        prefs.set_signal(visitor, value, action == "signal-on")
    elif action in ("mute", "unmute"):
        if catalog.category_name(value) is None:
            abort(400, description=f"value: unknown category {value!r}")
        prefs.mute(visitor, value, action == "mute")
    elif action == "drop":
        kind, _, cat = value.partition(":")
        if kind not in ("affinity", "exclusion", "price_band", "segment") or (
            kind not in ("price_band", "segment") and catalog.category_name(cat) is None
        ):
            abort(400, description=f"value: unknown trait {value!r}")
        prefs.drop_trait(visitor, value)
    elif action == "delete":
        customer = g.context.session.customer_id  # who this session signed in as, not the cookie
        privacy.delete_person(
            current_app.extensions["db"],
            current_app.extensions["redis"],
            visitor,
            customer,
            cache=current_app.extensions["cache"],
            models_dir=current_app.config["SETTINGS"].models_dir,
        )
        switch_visitor()  # this browser starts over as someone new
        return redirect(url_for("shop.me", deleted="account" if customer else 1), code=303)
    return redirect(url_for("shop.me"), code=303)


@bp.get("/me/export.json")
def me_export():
    ctx = g.context
    data = privacy.export(
        current_app.extensions["db"],
        current_app.extensions["redis"],
        ctx.visitor_id,
        ctx.session.customer_id,  # who this session signed in as, not the cookie's links
    )
    response = jsonify(data)
    response.headers["Content-Disposition"] = 'attachment; filename="my-storefront-data.json"'
    return response
