"""A standalone Spark cluster on 127.0.0.1 for the Spark training tests and bench/spark_scale.py:
one master and N workers started from the pyspark install (`bin/spark-class`), as separate
processes, torn down after. Needs pyspark (the `spark` extra) and Java."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOW, HIGH = 7100, 7999  # the ports tests may use on this machine


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def why_not() -> str | None:
    """Why Spark cannot run here (None: it can): no pyspark, or no Java."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'pyspark is not installed (the spark extra: pip install -e ".[spark]")'
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java runtime (Spark needs Java 17 or later on the PATH or in JAVA_HOME)"
    return None


def free_ports(n: int) -> list[int]:
    """n distinct ports in LOW..HIGH that nothing listens on now."""
    ports: list[int] = []
    candidates = list(range(LOW, HIGH + 1))
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == n:
            return ports
    raise RuntimeError(f"no {n} free ports in {LOW}-{HIGH}")


def _env(work: Path) -> dict:
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_WORKER_DIR": str(work / "worker"),
        "SPARK_NO_DAEMONIZE": "1",
    }


def _status(ui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as r:
        return json.loads(r.read())


@contextmanager
def standalone(work: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> Iterator[dict]:
    """Start a master and `workers` workers on 127.0.0.1; yields {"url": spark://..., "ui":
    port, "status": a function returning the master's JSON status}. Everything is stopped
    (its process group killed) on the way out."""
    work.mkdir(parents=True, exist_ok=True)
    port, ui, *worker_ports = free_ports(2 + 2 * workers)
    env = _env(work)
    cls = str(spark_home() / "bin" / "spark-class")
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        log = open(work / f"{name}.log", "w")  # noqa: SIM115 - closed with the process below
        procs.append(
            subprocess.Popen(
                [cls, *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    url = f"spark://127.0.0.1:{port}"
    try:
        start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui),
        )  # fmt: skip
        for k in range(workers):
            wport, wui = worker_ports[2 * k], worker_ports[2 * k + 1]
            start(
                f"worker{k}",
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--port", str(wport), "--webui-port", str(wui),
                "--cores", str(cores), "--memory", memory,
                "--work-dir", str(work / f"worker{k}"),
                url,
            )  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            try:
                alive = [w for w in _status(ui).get("workers", []) if w.get("state") == "ALIVE"]
                if len(alive) >= workers:
                    break
            except OSError:
                pass
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(work.glob("*.log"))
                )
                raise RuntimeError(f"the Spark cluster did not come up:\n{logs}")
            time.sleep(1)
        yield {"url": url, "ui": ui, "status": lambda: _status(ui), "env": env}
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
