"""Client hints: every shop page asks the browser for its device hints (Accept-CH) and says
that its content varies with them (Vary), so a shared cache never hands a phone's page to a
desktop. The hints are read with the User-Agent by signals/device.read_device, and win."""

from __future__ import annotations

from werkzeug.http import parse_set_header

from storefront.shop.views import bp
from storefront.signals.device import CLIENT_HINTS, os_name

ACCEPT_CH = ", ".join(CLIENT_HINTS)


_VARY: dict[str | None, str] = {}  # a response's Vary -> the same with the hints (few values)


@bp.after_request
def _client_hints(response):
    headers = response.headers
    headers["Accept-CH"] = ACCEPT_CH
    before = headers.get("Vary")
    vary = _VARY.get(before)
    if vary is None:  # parsed once per distinct Vary, not on every page
        found = parse_set_header(before)
        found.update((*CLIENT_HINTS, "User-Agent"))
        vary = found.to_header()
        if len(_VARY) < 64:
            _VARY[before] = vary
    headers["Vary"] = vary
    return response


bp.add_app_template_filter(os_name, "os_name")
