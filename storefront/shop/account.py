"""/account: a customer signs in, which stitches this browser's history to them.

Three ways in. With STOREFRONT_DEMO_SIGNIN (the demo; scripts/run.sh sets it) the customer
number alone, to look at the demo shop through a customer's eyes. Otherwise the customer number
or e-mail and a password (storefront/accounts.py), with failed attempts counted in Redis per
account and per client address; or /account/sso, where the shop's own identity provider (or an
authenticating proxy) presents a signed, short-lived token in the X-Storefront-Identity header
(storefront/signin_token.py). A browser already signed in as someone else starts afresh before
signing in as another customer, so nothing of the first one's session reaches the second.
Every way in moves the browser to the customer's own visitor id and retires the cookie it came
with (storefront/identity.py): a visitor cookie planted before sign-in never becomes theirs.
"""

from __future__ import annotations

import time

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Optional, Regexp

from storefront import accounts, db, identity, rate_limits, signin_token
from storefront.experiments.bucketing import in_holdout
from storefront.model_holder import snapshot
from storefront.redis_client import key
from storefront.shop.views import bp
from storefront.visitor import switch_visitor

SSO_USED = "ssoused"  # Redis: identity tokens already used (TTL: until the token expires)
WINDOW = 15 * 60
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
# failed customer sign-ins (Flask-Limiter windows, storefront/rate_limits.py)
PER_ACCOUNT = rate_limits.Window("custlogin/acct", MAX_PER_ACCOUNT, WINDOW)
PER_ADDRESS = rate_limits.Window("custlogin/ip", MAX_PER_ADDRESS, WINDOW)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    customer_id = StringField(
        "Customer number or e-mail",
        filters=[_strip],
        validators=[Optional(), Length(max=254), Regexp(r"^[0-9A-Za-z_.@+-]*$")],
    )
    password = PasswordField("Password", validators=[Optional(), Length(max=1024)])


def _checks(login: str | None) -> list[rate_limits.Check]:
    """The windows an attempt counts in: this address's, and the account's unless login is
    None."""
    checks: list[rate_limits.Check] = [(PER_ADDRESS, (request.remote_addr or "-",))]
    if login is not None:
        checks.append((PER_ACCOUNT, (login.lower()[:64],)))
    return checks


def _wait_seconds(login: str | None) -> int:
    """Seconds before this account or address may try again, or 0. Redis down: not limited
    (the hashes are still slow scrypt)."""
    return rate_limits.wait_seconds(_checks(login))


def _count_failure(login: str | None) -> None:
    rate_limits.hit(_checks(login))


def _sign_in_as(customer_id: str):
    """Stitch this browser to the customer and go home. The browser always leaves with the
    customer's canonical visitor id, never the cookie it came with (which someone else may
    hold: session fixation); its anonymous session comes along. A browser signed in as someone
    else signs them out first and carries nothing of theirs over."""
    engine = current_app.extensions["db"]
    sessions = current_app.extensions["sessions"]
    ctx = g.context
    carry: str | None = ctx.visitor_id
    signed_in = ctx.session.customer_id
    if signed_in not in (None, customer_id):
        identity.sign_out(engine, sessions, ctx.visitor_id, signed_in)
        carry = None
    canonical = switch_visitor(identity.sign_in(engine, sessions, carry, customer_id))
    # the holdout follows the account (every device of a person sees the same shop, or the
    # measurement mixes arms); a browser it newly reaches is told why, never silently switched
    share = current_app.config["SETTINGS"].holdout_share
    if in_holdout(canonical, share) and not ctx.experiments.holdout:
        return redirect(url_for("shop.me", holdout="joined"), code=303)
    return redirect(url_for("shop.home"), code=303)


def _demo_customer(login: str) -> str | None:
    with current_app.extensions["db"].connect() as conn:
        return conn.execute(select(db.customers.c.id).where(db.customers.c.id == login)).scalar()


def _page(form: SignInForm, error: str | None = None, status: int = 200):
    demo = current_app.config["SETTINGS"].demo_signin
    examples: list[str] = []
    model = snapshot().model
    if demo and model is not None and len(model.user_ids):
        examples = model.user_ids[:: max(1, len(model.user_ids) // 5)].tolist()[:5]
    body = render_template(
        "shop/account.html",
        ctx=g.context,
        form=form,
        error=error,
        demo=demo,
        examples=examples,
        catalog=snapshot().catalog,
        page="account",
    )
    return body, status


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = SignInForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        field = sorted(form.errors)[0] if form.errors else "form"
        abort(400, description=f"{field}: letters, digits and . _ @ + - only")
    login = form.customer_id.data or ""
    if not login:
        signed_in = g.context.session.customer_id
        if signed_in is not None:  # the signed-out cookie must reach nothing of theirs
            identity.sign_out(
                current_app.extensions["db"],
                current_app.extensions["sessions"],
                g.context.visitor_id,
                signed_in,
            )
        switch_visitor()  # signing out: this browser becomes a new anonymous visitor
        return redirect(url_for("shop.home"), code=303)
    if current_app.config["SETTINGS"].demo_signin:
        customer = _demo_customer(login)
        if customer is None:
            return _page(form, f"We don't know customer {login}.", 401)
        return _sign_in_as(customer)
    wait = _wait_seconds(login)
    if wait:
        minutes = max(1, round(wait / 60))
        body, status = _page(form, f"Too many failed sign-ins. Try again in {minutes} min.", 429)
        return body, status, {"Retry-After": str(wait)}
    if not form.password.data:
        return _page(form, "Enter your password.", 401)
    customer = accounts.verify(current_app.extensions["db"], login, form.password.data)
    if customer is None:
        _count_failure(login)
        return _page(form, "Wrong customer number, e-mail or password.", 401)
    rate_limits.clear(PER_ACCOUNT, login.lower()[:64])
    return _sign_in_as(customer)


@bp.get("/account/sso")
def account_sso():
    """Sign in with a token from the shop's identity provider, in the X-Storefront-Identity
    header (a header, not a link: another site cannot make a browser sign in this way)."""
    secret = current_app.config["SETTINGS"].identity_secret
    if not secret:
        abort(404, description="identity-provider sign-in is off (no STOREFRONT_IDENTITY_SECRET)")
    token = request.headers.get(signin_token.HEADER, "")
    if not token:
        abort(400, description=f"{signin_token.HEADER}: missing")
    wait = _wait_seconds(None)
    if wait:
        message = "too many refused sign-in tokens from this address"
        raise TooManyRequests(message, retry_after=wait)
    try:
        customer, expires = signin_token.read(secret, token)
    except signin_token.TokenError as exc:
        _count_failure(None)
        abort(401, description=f"{signin_token.HEADER}: {exc}")
    signature = token.strip().rsplit(".", 1)[1]
    ttl = max(1, int(expires - time.time()) + 1)
    if not current_app.extensions["redis"].set(key(SSO_USED, signature), 1, nx=True, ex=ttl):
        abort(401, description=f"{signin_token.HEADER}: token already used")
    return _sign_in_as(customer)
