"""Several shop nodes on 127.0.0.1, as in production: a Redis Cluster (cluster_support.py), one
PostgreSQL database, N `storefront serve` processes (each its own STOREFRONT_HOME, nothing
shared on disk) and HAProxy in front, from the shipped deploy/haproxy.cfg. Used by
tests/multinode/test_nodes.py and bench/nodes.py. Skips, naming what is missing, where
haproxy, redis-server or PostgreSQL is not there."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class Missing(Exception):
    """A part the fleet needs is not installed or not answering (the reason, for a skip)."""


def answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_tools() -> None:
    for tool in ("haproxy", "redis-server", "redis-cli"):
        if not shutil.which(tool):
            raise Missing(f"{tool} is not installed (apt-get install haproxy redis-server)")
    if not answers(5432):
        raise Missing("no PostgreSQL answering on 127.0.0.1:5432")


def create_database(name: str) -> str:
    """A fresh PostgreSQL database `name` (dropped first if a run left it); its URL."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise Missing(f"cannot create a PostgreSQL database on 127.0.0.1:5432: {exc}") from None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def get(url: str, timeout: float = 10, headers: dict | None = None):
    """(status, headers, body) of a GET; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


@dataclass
class Node:
    name: str
    port: int
    home: Path
    env: dict
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int = 1, timeout: float = 90) -> None:
        log = (self.home / "serve.log").open("ab")
        command = [sys.executable, "-m", "storefront.cli", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*command, "--workers", str(workers)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
            try:
                if get(self.url + "/health/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log()}")

    def kill9(self) -> None:
        """kill -9 the node: its gunicorn master and workers, all at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log(self) -> str:
        path = self.home / "serve.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@dataclass
class Balancer:
    """HAProxy from deploy/haproxy.cfg, in the foreground (-db), in front of `nodes`."""

    rundir: Path
    port: int
    nodes: list[Node] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self) -> Path:
        servers = "\n".join(f"    server {n.name} 127.0.0.1:{n.port} check" for n in self.nodes)
        text = TEMPLATE.read_text()  # the placeholders where they stand, not in the comments
        text = re.sub(r"^    bind @LISTEN@$", f"    bind 127.0.0.1:{self.port}", text, flags=re.M)
        text = re.sub(r"^@SERVERS@$", servers, text, flags=re.M)
        text = text.replace("socket @RUNDIR@/", f"socket {self.rundir}/")
        path = self.rundir / "haproxy.cfg"
        path.write_text(text)
        return path

    def start(self) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        cfg = self.render()
        check = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        log = (self.rundir / "haproxy.log").open("ab")
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get(self.url + "/health/live", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("haproxy did not start: " + (self.rundir / "haproxy.log").read_text())

    def servers_up(self) -> dict[str, str]:
        """Each server's state as HAProxy sees it (the stats socket's `show servers state`)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.rundir / "haproxy.sock"))
            s.sendall(b"show servers state nodes\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        states = {}
        for line in data.decode().splitlines()[2:]:
            parts = line.split()
            if len(parts) > 5:
                states[parts[3]] = "up" if parts[5] == "2" else "down"
        return states

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def node_env(home: Path, database_url: str, redis_url: str, **extra: str) -> dict:
    """A node's environment: its own home, the shared database and Redis, quick holders."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "STOREFRONT_HOME": str(home),
        "STOREFRONT_DATABASE_URL": database_url,
        "STOREFRONT_REDIS_URL": redis_url,
        "STOREFRONT_CACHE_REDIS_URL": "",
        "STOREFRONT_SECRET_KEY": "",  # the database's, shared (storefront/shared_secret.py)
        "STOREFRONT_LOG_LEVEL": "WARNING",
        "STOREFRONT_MODEL_CHECK_SECONDS": "1",
        "XDG_RUNTIME_DIR": str(home),
        **extra,
    }
