"""A publish reaches every worker of a separately running server within seconds, without a
restart; a restore does too. Real processes: gunicorn with two workers, the test publishes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import slots
from tests.integration.rules_support import clean_rules, publish  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent.parent
WITHIN_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.headers.get("X-Rules-Version", ""), r.read().decode()


@pytest.fixture
def server(shop_env, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "STOREFRONT_HOME": str(shop_env["home"]),
        "STOREFRONT_DATABASE_URL": shop_env["database_url"],
        "STOREFRONT_REDIS_URL": shop_env["redis_url"],
        "STOREFRONT_LOG_LEVEL": "WARNING",
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "storefront.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", "2", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            get(base + "/healthz")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("server did not start:\n" + log.read_text()[-3000:])
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def seconds_until(base: str, label: str) -> float:
    """Poll for WITHIN_SECONDS; the answer is when the last response on another version was
    seen, i.e. when every worker (load-balanced by the kernel) serves `label`."""
    started = time.monotonic()
    last_old = None
    while time.monotonic() - started < WITHIN_SECONDS:
        if get(base + "/")[0] != label:
            last_old = time.monotonic() - started
        time.sleep(0.02)
    assert last_old is None or last_old < WITHIN_SECONDS - 1.5, f"still old at {last_old:.2f}s"
    return last_old or 0.0


@pytest.mark.usefixtures("clean_rules")
def test_publish_and_restore_reach_every_worker_within_seconds(app, server):
    for _ in range(8):  # both workers up, on the default layout
        version, html = get(server + "/")
        assert version == "default" and "trending" in slots(html)
    first = publish(app, [{"name": "No trending", "then": {"remove": ["trending"]}}])
    took = seconds_until(server, first.label)
    print(f"publish served by every worker after {took:.2f}s")
    for _ in range(20):  # every worker, every request, no restart
        version, html = get(server + "/")
        assert version == first.label and "trending" not in slots(html)
    second = publish(app, [{"name": "No seasonal", "then": {"remove": ["seasonal"]}}])
    seconds_until(server, second.label)
    from storefront.rules import store

    restored = store.restore(app.extensions["db"], "test", first.id)
    print(f"restore served by every worker after {seconds_until(server, restored.label):.2f}s")
    for _ in range(10):
        version, html = get(server + "/")
        assert version == restored.label and "trending" not in slots(html)
        assert "seasonal" in slots(html)
