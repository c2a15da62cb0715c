"""The warm path's per-worker memos (docs/benchmarks.md, "Issue #17: warm page CPU"): each is
keyed by everything its answer depends on, so a changed input gives a changed answer, and each
is bounded."""

from __future__ import annotations

from datetime import UTC, date, datetime

from werkzeug.datastructures import EnvironHeaders

from storefront import metrics
from storefront.core import dependencies, visit
from storefront.core.context import Consent, consent
from storefront.core.lookup import environ_name, header
from storefront.signals import clock
from storefront.signals.device import read_device
from storefront.signals.geo import LOCATED_MAX, GeoLocator
from storefront.traits import PARSED_MAX, _parsed, growth, infer

CDN = ("CF-IPCountry",)


def environ_headers(**headers: str) -> EnvironHeaders:
    return EnvironHeaders({environ_name(k.replace("_", "-")): v for k, v in headers.items()})


def test_header_reads_the_environ_as_werkzeug_does() -> None:
    h = environ_headers(User_Agent="UA", DNT="1")
    for name in ("User-Agent", "user-agent", "DNT", "Sec-GPC", "Content-Type"):
        assert header(h, name) == h.get(name)
    assert header(h, "Sec-GPC", "") == ""
    assert header({"DNT": "1"}, "DNT") == "1"  # any other mapping: its own get


def test_geo_memo_follows_every_header_it_reads_and_the_address() -> None:
    locator = GeoLocator(CDN)
    gb = locator.locate(environ_headers(CF_IPCountry="GB"), "203.0.113.9")
    assert gb.country == "GB"
    assert locator.locate(environ_headers(CF_IPCountry="DE"), "203.0.113.9").country == "DE"
    city = locator.locate(environ_headers(CF_IPCountry="GB", CF_IPCity="Leeds"), "203.0.113.9")
    assert city.city == "Leeds"
    zone = environ_headers(CF_IPCountry="GB", CF_Timezone="Europe/London")
    assert locator.locate(zone, None).timezone == "Europe/London"
    # a plain mapping of headers (any case) gives what the request's environ gives
    assert locator.locate({"cf-ipcountry": "GB", "CF-IPCity": "Leeds"}, "203.0.113.9") == city
    assert locator.locate(environ_headers(), None).country is None
    info = locator._located.cache_info()
    assert info.maxsize == LOCATED_MAX and info.hits >= 1
    locator.close()
    assert locator._located.cache_info().currsize == 0


def test_geo_memos_are_per_locator() -> None:
    headers = environ_headers(CF_IPCountry="GB", X_Country_Code="IT")
    assert GeoLocator(CDN).locate(headers, None).country == "GB"
    assert GeoLocator(("X-Country-Code",)).locate(headers, None).country == "IT"


def test_device_reads_hints_from_the_environ() -> None:
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148"
    assert read_device(environ_headers(User_Agent=phone)).kind == "mobile"
    hinted = environ_headers(User_Agent=phone, Sec_CH_UA_Mobile="?0")
    assert read_device(hinted).kind == "desktop"


def test_clock_stays_per_request_and_the_calendar_follows_date_and_country() -> None:
    before = clock.local_time(datetime(2026, 12, 24, 10, 0, tzinfo=UTC), "GB", None, "UTC")
    after = clock.local_time(datetime(2026, 12, 24, 10, 1, tzinfo=UTC), "GB", None, "UTC")
    assert after.local > before.local and after.local.minute == 1
    christmas = clock.local_time(datetime(2026, 12, 25, 10, 0, tzinfo=UTC), "GB", None, "UTC")
    assert christmas.holiday and not before.holiday
    sydney = clock.local_time(datetime(2026, 12, 24, 10, 0, tzinfo=UTC), "AU", None, "UTC")
    assert (sydney.timezone, sydney.season) == ("Australia/Sydney", "summer")
    assert (before.timezone, before.season) == ("Europe/London", "winter")
    north = clock.local_time(datetime(2026, 7, 1, tzinfo=UTC), "AU", None, "UTC", latitude=10.0)
    assert north.season == "summer"  # latitude wins over the country
    assert clock._calendar(None, date(2026, 7, 4), False)[0] == "saturday"
    assert clock._zone_for.cache_info().maxsize and clock._calendar.cache_info().maxsize


def test_traits_memo_follows_the_hash_and_the_corrections_and_decays_per_call() -> None:
    now = 1767225600.0
    g = growth(now)
    raw = {"a:bags": str(5 * g), "a:shoes": str(1 * g), "b:mid": str(4 * g)}
    first = infer(raw, {}, now=now)
    assert first.affinities[0][0] == "bags" and first.price_band == "mid"
    moved = infer({**raw, "a:shoes": str(20 * g)}, {}, now=now)
    assert moved.affinities[0][0] == "shoes"
    assert infer(raw, {"drop:affinity:bags": "1"}, now=now).affinities[0][0] == "shoes"
    assert infer(raw, {"mute:bags": "1"}, now=now).muted == ("bags",)
    later = infer(raw, {}, now=now + 21 * 86400)  # the decay is applied on every call
    assert later.evidence < first.evidence
    assert _parsed.cache_info().maxsize == PARSED_MAX


def test_stored_visit_memo_follows_the_fields() -> None:
    fields = {"v:start": "100", "v:seen": "160", "v:kind": "email", "v:recency": "new"}
    kept = visit.stored(fields)
    assert kept is not None and kept.seen == 160.0 and kept.channel.kind == "email"
    assert visit.stored({**fields, "v:seen": "220"}).seen == 220.0
    assert visit.stored({**fields, "v:source": "news"}).channel.source == "news"
    assert visit.stored({"v:start": "x"}) is None
    assert visit._stored.cache_info().maxsize == visit.STORED_MAX


def test_stamp_parts_match_what_they_replace() -> None:
    for year in (2, 999, 1000, 2026, 9998):
        local = datetime(year, 3, 4, 5, tzinfo=UTC)
        assert dependencies._hour(local) == local.strftime("%Y%m%d%H")
    for given in (Consent(), consent(gpc=True), consent(prefs={"off:location": "1"}, holdout=True)):
        assert dependencies._consent_text(given) == repr(given)


def test_page_metrics_bind_each_series_on_first_use() -> None:
    m = metrics.metrics()
    children = m.page("home", "html")
    assert m.page("home", "html") is children
    metrics.observe_page("home", "html", 200, 0.001, {"context": 0.5, "page-hit": 0.2})
    metrics.observe_page("home", "html", 200, 0.001, {"context": 0.5, "odd": 0.1})
    # the registry lives as long as the process: earlier tests may have bound other phases
    assert {"context", "page-hit", "odd"} <= set(children.phases)
    assert children.phase("odd") is children.phase("odd")  # bound once
    # each bound call counts in its own series (an unknown phase under "other")
    other = m.child("phase_seconds", "home", "other")
    before = _sample(other, "_count")
    children.phase("odd")(0.003)
    assert _sample(other, "_count") == before + 1
    ok = m.child("page_responses", "home", "html", "2xx")
    before = _sample(ok, "_total")
    children.status(200)()
    assert _sample(ok, "_total") == before + 1
    hit = m.child("page_cache", "home", "hit")
    before = _sample(hit, "_total")
    metrics.page_cache("home", True)
    assert _sample(hit, "_total") == before + 1


def _sample(child, suffix: str) -> float:
    return next(s.value for s in child._samples() if s.name == suffix)


def test_constant_answers_equal_what_they_short_cut() -> None:
    from storefront.core.context import Assignment, _consent
    from storefront.experiments.assign import NO_ARMS, assign
    from storefront.signals.channel import DIRECT, Channel, read_channel
    from storefront.traits import NO_TRAITS

    assert read_channel({}, None, "shop.test") == DIRECT == Channel("direct")
    assert read_channel({"utm_source": "news"}, None, "shop.test").kind == "campaign"
    assert read_channel({}, "https://www.google.com/", "shop.test").kind == "search"
    assert assign("v1", (), 0.0) is NO_ARMS and NO_ARMS == Assignment(False, ())
    assert assign("v1", (), 1.0).holdout
    assert infer({}, {}) is NO_TRAITS
    assert repr(infer({"zz": "1"}, {}, now=1.7e9)) == repr(NO_TRAITS)  # the computed way
    assert consent(prefs={"off:history": "1"}).history is False
    assert consent(prefs={"off:history": "0"}).history is True
    assert consent(dnt=True).reason == "Do Not Track"
    assert _consent.cache_info().maxsize == 1024


def test_geo_memo_keeps_no_long_header_text() -> None:
    locator = GeoLocator(CDN)
    long_city = "x" * 2000
    found = locator.locate(environ_headers(CF_IPCountry="GB", CF_IPCity=long_city), None)
    assert found.country == "GB" and found.city is None  # answered as before (too long a city)
    assert locator._located.cache_info().currsize == 0
