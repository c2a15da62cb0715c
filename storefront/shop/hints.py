"""Client hints: every shop page asks the browser for its device hints (Accept-CH) and says
that its content varies with them (Vary), so a shared cache never hands a phone's page to a
desktop. The hints are read with the User-Agent by signals/device.read_device, and win."""

from __future__ import annotations

from werkzeug.http import parse_set_header

from storefront.shop.views import bp
from storefront.signals.device import CLIENT_HINTS, os_name

ACCEPT_CH = ", ".join(CLIENT_HINTS)


_VARY: dict[str | None, str] = {}  # a response's Vary -> the same with the hints (few values)


def _with_hints(before: str | None) -> str:
    """A response's Vary (None: it has none) with the hints and the User-Agent added; parsed
    once per distinct Vary, not on every page."""
    vary = _VARY.get(before)
    if vary is None:
        found = parse_set_header(before)
        found.update((*CLIENT_HINTS, "User-Agent"))
        vary = found.to_header()
        if len(_VARY) < 64:
            _VARY[before] = vary
    return vary


@bp.after_request
def _client_hints(response):
    headers = response.headers
    # the names present, read once: headers.get and each headers[name] = ... scan them all
    # again (and an absent name's get raises and catches a KeyError inside)
    names = [k.lower() for k, _ in headers]
    found = names.count("vary")
    if "accept-ch" in names or found > 1:  # rare: werkzeug's get and set, as they are
        headers["Accept-CH"] = ACCEPT_CH
        headers["Vary"] = _with_hints(headers.get("Vary"))
        return response
    headers.add("Accept-CH", ACCEPT_CH)  # what the assignment does for an absent name
    if found:  # replaced where it stands, named as the assignment names it
        at = names.index("vary")
        headers[at] = ("Vary", _with_hints(headers[at][1]))
    else:
        headers.add("Vary", _with_hints(None))
    return response


bp.add_app_template_filter(os_name, "os_name")
