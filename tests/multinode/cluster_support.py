"""A real Redis Cluster for the tests: `redis-server --cluster-enabled yes` processes on
127.0.0.1, joined by `redis-cli --cluster create` (3 primaries and, with replicas=1, a replica
each), never saving. Skips (with the reason) where redis-server or redis-cli is missing."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

NODE_TIMEOUT_MS = 1000  # a primary missing this long is failed over to its replica


def tools() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        pytest.skip("a Redis Cluster needs redis-server and redis-cli on PATH (apt redis-server)")
    return server, cli


@dataclass
class Cluster:
    ports: list[int]
    procs: dict[int, subprocess.Popen] = field(default_factory=dict)
    workdir: Path | None = None
    config: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.ports[0], decode_responses=True)

    def primaries(self) -> list[int]:
        nodes = redis.Redis(port=self._alive(), decode_responses=True).cluster("nodes")
        return sorted(
            int(addr.split(":")[1].split("@")[0])
            for addr, info in nodes.items()
            if "master" in info["flags"] and "fail" not in info["flags"]
        )

    def _alive(self) -> int:
        return next(p for p, proc in self.procs.items() if proc.poll() is None)

    def kill(self, port: int) -> None:
        """kill -9 one node."""
        self.procs[port].kill()
        self.procs[port].wait(timeout=10)

    def wait_healthy(self, timeout: float = 30) -> None:
        """Until every slot is served again (cluster_state:ok on every live node)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = []
            for p, proc in self.procs.items():
                if proc.poll() is None:
                    try:
                        states.append(redis.Redis(port=p).cluster("info")["cluster_state"])
                    except redis.RedisError:
                        states.append("down")
            if states and all(s == "ok" for s in states):
                return
            time.sleep(0.1)
        raise AssertionError("the cluster did not become healthy")

    def wait_failover(self, victim: int, timeout: float = 30) -> None:
        """Until a replica has taken the place of the killed primary `victim` and every slot is
        served again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                primaries = self.primaries()
            except redis.RedisError:
                primaries = []
            if victim not in primaries and len(primaries) == len(self.ports) // 2:
                self.wait_healthy(max(1.0, deadline - time.monotonic()))
                return
            time.sleep(0.1)
        raise AssertionError(f"no replica took over from {victim}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def start_cluster(
    workdir: Path, ports: list[int], replicas: int = 1, config: dict[str, str] | None = None
) -> Cluster:
    """Start len(ports) nodes and join them: len(ports) // (1 + replicas) primaries."""
    server, cli = tools()
    cluster = Cluster(ports, workdir=workdir, config=dict(config or {}))
    for port in ports:
        d = workdir / str(port)
        d.mkdir(parents=True, exist_ok=True)
        for stale in d.glob("*"):
            stale.unlink()
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d)]
        args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        args += ["--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "", "--appendonly"]
        args += ["no", "--protected-mode", "no"]
        for name, value in cluster.config.items():
            args += [f"--{name}", value]
        cluster.procs[port] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    try:
        for port in ports:
            _wait_ping(port)
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports)]
        create += ["--cluster-replicas", str(replicas), "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        cluster.wait_healthy()
        if replicas:
            _wait_replicas(cluster, len(ports) // (1 + replicas))
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_ping(port: int) -> None:
    client = redis.Redis(port=port, socket_timeout=1)
    for _ in range(200):
        try:
            client.ping()
            return
        except redis.RedisError:
            time.sleep(0.05)
    raise AssertionError(f"redis-server on {port} did not start")


def _wait_replicas(cluster: Cluster, primaries: int, timeout: float = 30) -> None:
    """Until every primary has a replica in sync (a failover needs one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        synced = 0
        for p in cluster.ports:
            info = redis.Redis(port=p, decode_responses=True).info("replication")
            if info["role"] == "slave" and info.get("master_link_status") == "up":
                synced += 1
        if synced >= primaries:
            return
        time.sleep(0.1)
    raise AssertionError("the replicas did not sync")
