"""The metric helpers (storefront/metrics.py): bounded labels, counts, access, the model's age.
One process, so the metrics live in memory; the counters are cumulative, so each test compares
before and after."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from storefront import metrics


def value(name: str, **labels: str) -> float:
    """A sample's value in a scrape of this process (0 when absent)."""
    text = metrics.exposition()[0].decode()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def label_values(label: str) -> set[str]:
    text = metrics.exposition()[0].decode()
    return {
        s.labels[label]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if label in s.labels
    }


def test_page_types_come_from_a_fixed_list():
    assert metrics.page_type("shop.product", {"product_id": "85123A"}) == ("product", "html")
    assert metrics.page_type("shop.checkout", {}) == ("cart", "html")
    assert metrics.page_type("shop.account", {}) == ("other", "html")
    assert metrics.page_type("api.page_json", {"page": "search"}) == ("search", "api")
    # whatever a caller puts in the URL, the label is one of the known page types
    assert metrics.page_type("api.page_json", {"page": "/etc/passwd"}) == ("other", "api")
    assert metrics.page_type("api.fragment_html", {}, {"page_type": "home"}) == ("home", "api")
    assert metrics.page_type(None, None) == ("other", "html")


def test_a_page_is_timed_whole_and_per_phase():
    before = value("storefront_page_seconds_count", page="home", channel="html")
    phase_before = value("storefront_page_phase_seconds_count", page="home", phase="render")
    odd_before = value("storefront_page_phase_seconds_count", page="home", phase="other")
    metrics.observe_page("home", "html", 200, 0.012, {"render": 3.0, "made-up phase": 1.0})
    assert value("storefront_page_seconds_count", page="home", channel="html") == before + 1
    assert (
        value("storefront_page_phase_seconds_count", page="home", phase="render")
        == phase_before + 1
    )
    assert value("storefront_page_phase_seconds_count", page="home", phase="other") == (
        odd_before + 1
    )  # an unknown phase name is folded into "other", never a new label value
    assert value("storefront_page_responses_total", page="home", status="2xx") >= 1
    assert "made-up phase" not in label_values("phase")


def test_fragment_and_page_cache_counts():
    hits = value("storefront_fragment_cache_total", page="product", result="hit")
    misses = value("storefront_fragment_cache_total", page="product", result="miss")
    metrics.fragments("product", [True, True, False])
    assert value("storefront_fragment_cache_total", page="product", result="hit") == hits + 2
    assert value("storefront_fragment_cache_total", page="product", result="miss") == misses + 1
    page_hits = value("storefront_page_cache_total", page="search", result="hit")
    metrics.page_cache("search", True)
    metrics.page_cache("search", False)
    assert value("storefront_page_cache_total", page="search", result="hit") == page_hits + 1


def test_event_batches_by_status_and_events_by_result():
    refused = value("storefront_event_batches_total", status="429")
    recorded = value("storefront_events_total", result="recorded")
    duplicate = value("storefront_events_total", result="duplicate")
    metrics.event_batch(202, recorded=3, duplicates=2)
    metrics.event_batch(429)
    metrics.event_batch(418)  # no such refusal in the list: "other"
    assert value("storefront_event_batches_total", status="429") == refused + 1
    assert value("storefront_events_total", result="recorded") == recorded + 3
    assert value("storefront_events_total", result="duplicate") == duplicate + 2
    assert "418" not in label_values("status")


def test_redis_and_database_errors_are_labelled_by_server_and_kind():
    before = value("storefront_redis_errors_total", server="sessions", kind="timeout")
    metrics.redis_error("session store", "timeout")
    metrics.redis_error("some other breaker", "weird")
    assert value("storefront_redis_errors_total", server="sessions", kind="timeout") == before + 1
    assert value("storefront_redis_errors_total", server="other", kind="connection") >= 1
    db_before = value("storefront_db_errors_total", kind="operational")
    metrics.db_error("operational")
    assert value("storefront_db_errors_total", kind="operational") == db_before + 1


def test_the_model_version_served_and_its_age():
    metrics.model_served("20261201T000000000000Z")
    metrics.model_served("20261202T000000000000Z")
    assert value("storefront_model_info", version="20261202T000000000000Z") == 1
    assert value("storefront_model_info", version="20261201T000000000000Z") == 0
    trained = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
    age = metrics.model_age("20261202T000000000000Z")
    assert age == pytest.approx(time.time() - trained, abs=5)
    assert metrics.model_age("none") is None  # popularity: no model, no age
    text = metrics.exposition(age=42.0)[0].decode()
    assert "storefront_model_age_seconds 42.0" in text


def test_model_age_of_an_oddly_named_version_is_its_files_age(tmp_path):
    (tmp_path / "meta.json").write_text("{}")
    assert metrics.model_age("hand-made", tmp_path) == pytest.approx(0, abs=5)
    assert metrics.model_age("hand-made", tmp_path / "missing") is None


class Headers(dict):
    def get(self, name, default=None):
        return super().get(name, default)


@pytest.mark.parametrize(
    ("remote", "headers", "token", "expected"),
    [
        ("127.0.0.1", {}, "", None),
        ("::1", {}, "", None),
        ("10.0.0.7", {}, "", 403),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, "", 403),  # relayed by a proxy
        (None, {}, "", 403),
        ("10.0.0.7", {"Authorization": "Bearer s3cret-token"}, "s3cret-token", None),
        ("10.0.0.7", {"Authorization": "bearer s3cret-token"}, "s3cret-token", None),
        ("10.0.0.7", {"Authorization": "Bearer wrong"}, "s3cret-token", 401),
        ("127.0.0.1", {}, "s3cret-token", 401),  # with a token, the token is required
    ],
)
def test_who_may_read_metrics(remote, headers, token, expected):
    assert metrics.allowed(remote, Headers(headers), token) == expected
