"""Client hints: every shop page asks the browser for its device hints (Accept-CH) and says
that its content varies with them (Vary), so a shared cache never hands a phone's page to a
desktop. The hints are read with the User-Agent by signals/device.read_device, and win."""

from __future__ import annotations

from storefront.shop.views import bp
from storefront.signals.device import CLIENT_HINTS, os_name

ACCEPT_CH = ", ".join(CLIENT_HINTS)


@bp.after_request
def _client_hints(response):
    response.headers["Accept-CH"] = ACCEPT_CH
    response.vary.update((*CLIENT_HINTS, "User-Agent"))
    return response


bp.add_app_template_filter(os_name, "os_name")
