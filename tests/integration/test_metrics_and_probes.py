"""GET /metrics and the liveness and readiness probes, on the real shop: in-process for the
access rules and the probes' answers with Redis stopped or the database gone, and under a real
gunicorn with two workers for counters that add up across workers (and across a worker's
restart)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, text

from storefront import db
from tests.integration.test_crash_safety import free_port, post, start_server
from tests.integration.test_faults import app_for, start_redis

TS = 1733400000000  # an event time within the test store's history


def samples(text_format: str, name: str) -> list:
    return [
        s
        for family in text_string_to_metric_families(text_format)
        for s in family.samples
        if s.name == name
    ]


def total(text_format: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples(text_format, name)
        if all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_count_pages_fragments_and_events(client, app):
    from storefront import page_memo

    page_memo.memo_of(app).entries = 0  # the per-visitor page cache's counts (no shared pages)
    pid = next(iter(app.extensions["models"].get().catalog.products))
    before = client.get("/metrics").get_data(as_text=True)
    first = client.get("/")  # a new visitor: composed, fragments stored
    assert first.status_code == 200
    client.get("/")  # the visitor's first page with their cookie: built and kept
    client.get("/")  # the same again: the whole page from the page cache
    client.get(f"/p/{pid}")
    ok = client.post(
        "/events",
        json={"events": [{"id": "metrics-0001", "type": "view", "product_id": pid, "ts": TS}]},
    )
    assert ok.status_code == 202
    bad = client.post("/events", json={"events": [{"id": "metrics-0002", "type": "nonsense"}]})
    assert bad.status_code == 400
    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["Content-Type"].startswith("text/plain; version=")
    after = scrape.get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("storefront_page_seconds_count", page="home", channel="html") == 3
    assert delta("storefront_page_seconds_count", page="product", channel="html") == 1
    assert delta("storefront_page_responses_total", status="2xx") == 4
    assert delta("storefront_page_phase_seconds_count", page="home", phase="render") == 2
    assert delta("storefront_page_phase_seconds_count", page="home", phase="page-hit") == 1
    assert delta("storefront_page_cache_total", page="home", result="hit") == 1
    assert delta("storefront_page_cache_total", page="home", result="miss") == 1
    assert delta("storefront_fragment_cache_total") >= 1  # the home page's slots, looked up
    assert delta("storefront_event_batches_total", status="202") == 1
    assert delta("storefront_event_batches_total", status="400") == 1
    assert delta("storefront_events_total", result="recorded") == 1
    version = first.headers["X-Model-Version"]
    assert total(after, "storefront_model_info", version=version) == 1
    assert total(after, "storefront_model_age_seconds") > 0
    # every label value comes from a fixed list: no path, product id or visitor id
    buckets = samples(after, "storefront_page_seconds_bucket")
    labels = {v for s in buckets for v in s.labels.values()}
    assert pid not in labels and "/" not in labels


def test_metrics_count_a_stateless_visitors_shared_page_as_memo(client):
    """A visitor with no state of their own gets the worker's shared page for their context
    (page_memo.py): counted as result="memo" with its own phase, not as a hit of their copy."""
    before = client.get("/metrics").get_data(as_text=True)
    assert "page-memo" not in client.get("/").headers["Server-Timing"]  # built, kept in the memo
    again = client.get("/")  # with the cookie now, still nothing of their own
    assert "page-memo" in again.headers["Server-Timing"]
    after = client.get("/metrics").get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("storefront_page_cache_total", page="home", result="memo") == 1
    assert delta("storefront_page_cache_total", page="home", result="miss") == 1
    assert delta("storefront_page_cache_total", page="home", result="hit") == 0
    assert delta("storefront_page_phase_seconds_count", page="home", phase="page-memo") == 1
    assert delta("storefront_page_phase_seconds_count", page="home", phase="other") == 0


def test_metrics_are_not_public(shop_env, client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert remote.status_code == 403
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403  # a local proxy relaying a visitor
    app = app_for(shop_env, metrics_token="a-long-enough-scrape-token")
    c = app.test_client()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    wrong = c.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = c.get(
        "/metrics",
        headers={"Authorization": "Bearer a-long-enough-scrape-token"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert right.status_code == 200 and b"storefront_page_seconds" in right.data


def test_ready_and_live_when_all_is_well(client):
    live = client.get("/health/live")
    assert live.status_code == 200 and live.get_json() == {"status": "alive"}
    ready = client.get("/health/ready")
    body = ready.get_json()
    assert ready.status_code == 200, body
    assert body["status"] == "ready" and body["failing"] == []
    assert body["database"] == body["redis"] == body["catalog"] == "ok"
    assert client.get("/healthz").status_code == 200  # the detailed report stays


def test_not_ready_when_redis_is_down_still_live(shop_env, tmp_path):
    sock = tmp_path / "redis.sock"
    server = start_redis(sock)
    app = app_for(shop_env, redis_url=f"unix://{sock}")
    client = app.test_client()
    try:
        assert client.get("/health/ready").status_code == 200
        server.kill()
        server.wait()
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.get_json()["failing"] == ["redis"]
        assert client.get("/health/live").status_code == 200
        client.get("/")  # a page with Redis gone: its errors are counted
        scrape = client.get("/metrics").get_data(as_text=True)
        assert total(scrape, "storefront_redis_errors_total", server="sessions") >= 1
        server = start_redis(sock)  # back: ready again once the breaker's probe finds it
        deadline = time.time() + 5
        while client.get("/health/ready").status_code != 200:
            assert time.time() < deadline, "not ready again after Redis came back"
            time.sleep(0.05)
    finally:
        server.kill()
        server.wait()


def test_not_ready_when_the_database_is_gone_or_behind_still_live(shop_env, tmp_path):
    url = shop_env["database_url"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only: its file is moved away; PostgreSQL is not stopped here")
    db_file = Path(shutil.copy(url.removeprefix("sqlite:///"), tmp_path / "shop.db"))
    app = app_for(shop_env, database_url=f"sqlite:///{db_file}")
    engine, client = app.extensions["db"], app.test_client()
    assert client.get("/health/ready").status_code == 200
    with engine.begin() as conn:  # as if an older release's schema: not current
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    behind = client.get("/health/ready")
    assert behind.status_code == 503 and behind.get_json()["failing"] == ["database"]
    assert "schema not current" in behind.get_json()["database"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert client.get("/health/ready").status_code == 200
    db_file.rename(tmp_path / "elsewhere.db")
    db_file.mkdir()  # the path is now a directory: SQLite cannot open it at all
    engine.dispose()
    gone = client.get("/health/ready")
    assert gone.status_code == 503
    body = gone.get_json()
    assert body["failing"] == ["database"] and body["database"].startswith("unreachable")
    assert client.get("/health/live").status_code == 200
    scrape = client.get("/metrics").get_data(as_text=True)
    assert total(scrape, "storefront_db_errors_total") >= 1


def _get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"Cookie": cookie} if cookie else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(c) for c in children}


def test_counters_add_up_across_two_gunicorn_workers(shop_env, tmp_path):
    if not shop_env["database_url"].startswith("sqlite"):
        pytest.skip("one backend is enough for this process test")
    port = free_port()
    proc = start_server(shop_env, port, tmp_path / "server.log", args=("--workers", "2"))
    metrics_dir = Path(shop_env["home"]) / "metrics"
    try:
        status, headers, _ = _get(port, "/")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";")[0]
        assert _get(port, "/api/v1/pages/home", cookie)[0] == 200
        engine = create_engine(shop_env["database_url"])
        with engine.connect() as conn:
            pid = conn.execute(select(db.products.c.id).limit(1)).scalar_one()
        engine.dispose()
        paths = ["/", "/search?q=heart", f"/p/{pid}", "/cart", "/c/nowhere"]
        sent = {"pages": 1, "api": 1, "events": 0}
        lock = threading.Lock()

        def visit(n: int) -> None:
            for i in range(n):
                path = paths[i % len(paths)]
                _get(port, path, cookie)
                event = {"id": f"mw-{threading.get_ident()}-{i}", "type": "view"}
                answer = post(port, cookie, [{**event, "product_id": pid, "ts": TS}])
                with lock:
                    sent["pages"] += 1
                    sent["events"] += answer is not None  # a 202

        def burst(threads: int, n: int) -> None:
            pool = [threading.Thread(target=visit, args=(n,)) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join(timeout=120)

        burst(6, 10)
        first_workers = _workers(proc.pid)
        assert len(first_workers) == 2
        # both workers served (their metric files), and the counters of both are summed
        served = {int(f.stem.split("_")[-1]) for f in metrics_dir.glob("histogram_*.db")}
        assert first_workers <= served, (first_workers, served)
        # a worker restarted: its counters stay in the sums, its live gauge goes
        gone = min(first_workers)
        os.kill(gone, signal.SIGTERM)
        deadline = time.time() + 30
        while len(_workers(proc.pid) - {gone}) < 2 or gone in _workers(proc.pid):
            assert time.time() < deadline, "gunicorn did not replace the worker"
            time.sleep(0.1)
        deadline = time.time() + 10
        while list(metrics_dir.glob(f"gauge_livemax_{gone}.db")):
            assert time.time() < deadline, "the dead worker's live gauge was not dropped"
            time.sleep(0.1)
        burst(4, 5)
        status, headers, body = _get(port, "/metrics")
        assert status == 200
        scrape = body.decode()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    html = total(scrape, "storefront_page_seconds_count", channel="html")
    api = total(scrape, "storefront_page_seconds_count", channel="api")
    assert (html, api) == (sent["pages"], sent["api"])
    assert total(scrape, "storefront_page_responses_total", status="4xx") >= 1  # /c/nowhere
    assert total(scrape, "storefront_event_batches_total", status="202") == sent["events"]
    assert total(scrape, "storefront_events_total") == sent["events"]
    assert sent["events"] == 80  # every batch accepted (1 event each)
    # one version, served by the live workers (the master preloads and may report it too)
    versions = {s.labels["version"] for s in samples(scrape, "storefront_model_info") if s.value}
    assert len(versions) == 1
