"""An event acknowledged with 202 survives a SIGKILL of the web server, and a retry after the
crash is not counted twice. Real processes: gunicorn serving the shop, killed mid-stream."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, func, select

from storefront import db

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    shop_env: dict,
    port: int,
    log: Path,
    args: tuple[str, ...] = ("--workers", "1", "--threads", "4"),
) -> subprocess.Popen:
    """`storefront serve` on the shop in a new process group, once /healthz answers; `args`
    are the serve options (none: the command's own defaults)."""
    env = {
        **os.environ,
        "STOREFRONT_HOME": str(shop_env["home"]),
        "STOREFRONT_DATABASE_URL": shop_env["database_url"],
        "STOREFRONT_REDIS_URL": shop_env["redis_url"],
        "STOREFRONT_LOG_LEVEL": "WARNING",
        "STOREFRONT_EVENTS_PER_MINUTE": "1000000",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storefront.cli",
            "serve",
            "--port",
            str(port),
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("server did not start:\n" + log.read_text()[-3000:])


def post(port: int, cookie: str, batch: list[dict]) -> dict | None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/events",
        data=json.dumps({"events": batch}).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read()) if r.status == 202 else None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        # a kill mid-response can cut the answer anywhere (no status line, a short body, half a
        # JSON document): none of those is an acknowledgement, so the client counts nothing
        return None


def test_acknowledged_events_survive_sigkill(shop_env, tmp_path):
    engine = create_engine(shop_env["database_url"])
    with engine.connect() as conn:
        pid = conn.execute(select(db.products.c.id).limit(1)).scalar_one()
    port = free_port()
    proc = start_server(shop_env, port, tmp_path / "server.log")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        cookie = r.headers["Set-Cookie"].split(";")[0]
    acked: list[str] = []
    last_batch: list[dict] = []
    stop = threading.Event()

    def fire() -> None:
        n = 0
        while not stop.is_set():
            batch = [
                {
                    "id": f"crash-{os.getpid()}-{n:05d}-{i}",
                    "type": "view",
                    "product_id": pid,
                    "ts": int(time.time() * 1000),
                }
                for i in range(5)
            ]
            n += 1
            if post(port, cookie, batch) is not None:
                acked.extend(e["id"] for e in batch)
                last_batch[:] = batch

    workers = [threading.Thread(target=fire) for _ in range(2)]
    for w in workers:
        w.start()
    deadline = time.time() + 20  # mid-stream: once enough was acknowledged (slow machines too)
    while len(acked) < 40 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # master and worker, mid-stream
    proc.wait(timeout=10)
    time.sleep(0.3)
    stop.set()
    for w in workers:
        w.join(timeout=10)
    assert len(acked) >= 10, "the server acknowledged too little before the kill to prove much"
    with engine.connect() as conn:
        stored = (
            conn.execute(
                select(db.events.c.id).where(db.events.c.id.like(f"crash-{os.getpid()}-%"))
            )
            .scalars()
            .all()
        )
    assert set(acked) <= set(stored), f"lost {len(set(acked) - set(stored))} acknowledged events"
    assert len(stored) == len(set(stored))

    # the client retries its last batch after the crash: acknowledged, not counted twice
    proc = start_server(shop_env, port, tmp_path / "server.log")
    try:
        answer = None
        for _ in range(20):  # the restarted server may still be warming up
            answer = post(port, cookie, last_batch)
            if answer is not None:
                break
            time.sleep(0.25)
        assert answer == {"accepted": 5, "recorded": 0, "duplicates": 5}
        with engine.connect() as conn:
            again = conn.execute(
                select(func.count())
                .select_from(db.events)
                .where(db.events.c.id.like(f"crash-{os.getpid()}-%"))
            ).scalar_one()
        assert again == len(stored)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        engine.dispose()
