"""Slow clients must not take the shop down: 32 connections that trickle a request a byte at a
time (slowloris) while other visitors keep getting answers. Real processes: `storefront serve`
with its default options, real sockets."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import threading
import time

import pytest

from tests.integration.test_crash_safety import free_port, start_server

SLOW_CLIENTS = 32
CHECKS = 50


def _trickle(port: int, stop: threading.Event, opened: list[socket.socket]) -> None:
    """Open the slow connections, then send each a byte of its never-ending headers every half
    second until told to stop."""
    partial = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100_000
    for _ in range(SLOW_CLIENTS):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(partial[:1])
        opened.append(s)
    sent = 1
    while not stop.wait(0.5):
        for s in opened:
            try:
                s.sendall(partial[sent : sent + 1])
            except OSError:
                pass  # the server may drop a slow client; that is allowed
        sent += 1


def _get(port: int, path: str, timeout: float) -> tuple[int, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    except OSError:
        return 0, time.perf_counter() - start  # timed out or refused: no answer
    finally:
        conn.close()


def test_32_slow_clients_do_not_starve_the_others(shop_env, tmp_path):
    if not shop_env["database_url"].startswith("sqlite"):
        pytest.skip("one backend is enough for this process test")
    port = free_port()
    proc = start_server(shop_env, port, tmp_path / "server.log", args=())  # serve's defaults
    stop = threading.Event()
    opened: list[socket.socket] = []
    trickler = threading.Thread(target=_trickle, args=(port, stop, opened))
    trickler.start()
    try:
        deadline = time.time() + 10
        while len(opened) < SLOW_CLIENTS and time.time() < deadline:
            time.sleep(0.05)
        assert len(opened) == SLOW_CLIENTS
        time.sleep(1.5)  # every slow client has begun its request and is trickling
        health = [_get(port, "/healthz", timeout=2) for _ in range(CHECKS)]
        pages = [_get(port, path, timeout=10) for path in ("/", "/search?q=a", "/account")]
        assert trickler.is_alive(), "the slow clients must still be trickling while we measure"
    finally:
        stop.set()
        trickler.join(timeout=10)
        for s in opened:
            s.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    slowest = max(t for _, t in health)
    answered = sorted(t for status, t in health if status == 200)
    print(
        f"\n{CHECKS} health checks under {SLOW_CLIENTS} slow clients: {len(answered)} answered, "
        f"median {answered[len(answered) // 2] if answered else float('nan'):.3f} s, "
        f"slowest {slowest:.3f} s; pages {[round(t, 3) for _, t in pages]}"
    )
    assert [status for status, _ in health] == [200] * CHECKS, health
    assert slowest < 1.0, health
    assert [status for status, _ in pages] == [200] * len(pages), pages
