"""End-to-end fixtures: a real shop (``storefront demo`` + ``storefront serve`` in their own
processes) and a real Chromium driven by Playwright.

- ``shop_server`` (session): base URL of a freshly built shop with QA overrides enabled.
- ``browser`` (session): headless Chromium (``STOREFRONT_CHROMIUM``, else the system's
  ``chromium``/``chromium-browser``, else Playwright's own download).
- ``page``: a desktop page in a fresh browser context (cookies are never shared between tests).
- ``new_page``: a factory for pages with other context options, e.g. ``new_page(**IPHONE)``
  (DESKTOP and IPHONE are in pages.py) or ``new_page(java_script_enabled=False)``.

A failing test leaves a screenshot of each of its pages under ``test-results/``.
Training never runs in the test process: implicit's OpenMP pool is not fork-safe.
"""

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.pages import DESKTOP

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 60.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# ---- markers and reports ---------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an ``e2e`` test (select or skip with ``-m``)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell in teardown if it failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


# ---- the shop --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# The shop's settings for these tests, whatever the caller's environment says.
SERVER_SETTINGS = {
    "STOREFRONT_QA_OVERRIDES": "1",  # ?qa_country= / ?qa_time= personas
    "STOREFRONT_HOLDOUT_SHARE": "0",  # no test visitor lands in the non-personalized holdout
    # visitors from the euro area and the US see an approximate price (test_shopper_words.py)
    "STOREFRONT_DISPLAY_CURRENCIES": "EUR:1.17,USD:1.27",
    "STOREFRONT_DEMO_SIGNIN": "1",  # customers sign in by number (test_shopper_words.py)
    # "trending near you" refreshed from the live window every 2 s (test_shopper_visit.py)
    "STOREFRONT_TRENDING_REFRESH": "2",
}


def _server_env(home: Path, runtime: Path) -> dict[str, str]:
    """The environment of the shop's processes: none of the caller's STOREFRONT_* settings (no
    outside Redis, database or snapshot pin), a fresh home, SERVER_SETTINGS, and gunicorn's
    control socket in our own directory (by default every gunicorn of a user shares
    ~/.gunicorn/gunicorn.ctl)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env.update(SERVER_SETTINGS)
    env.update(
        STOREFRONT_HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        PYTHONUNBUFFERED="1",
    )
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _processes_in(directory: Path) -> list[int]:
    """Pids of processes running in `directory` (Linux /proc): the embedded redis-server
    daemonizes out of our process group, but it runs in $STOREFRONT_HOME."""
    pids = []
    proc = Path("/proc")
    if not proc.is_dir():
        return pids
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == directory:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if Path(f"/proc/{p}").exists()]
    return alive


def _stop(proc: subprocess.Popen, home: Path) -> None:
    """SIGTERM the server's process group (gunicorn stops its workers and the embedded Redis),
    SIGKILL whatever is left, then any process still running in the shop's home."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group, if any
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=10)
    leftovers = _processes_in(home.resolve())
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in _wait_gone(leftovers, 5):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _start(env: dict[str, str], log: Path, home: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "storefront.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "2", "--threads", "4"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _healthy(base + "/healthz"):
            return proc, base
        time.sleep(0.25)
    _stop(proc, home)
    raise RuntimeError(f"exit code {proc.returncode}")


SERVER_HOME: dict[str, Path] = {}  # base URL -> STOREFRONT_HOME, for tests that run commands


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a shop built from the bundled demo store."""
    tmp = tmp_path_factory.mktemp("shop")
    home, runtime = tmp / "home", tmp / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = _server_env(home, runtime)
    demo_log, server_log = tmp / "demo.log", tmp / "server.log"
    with demo_log.open("wb") as out:
        demo = subprocess.run(
            [sys.executable, "-m", "storefront.cli", "demo"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    if demo.returncode != 0:
        for pid in _processes_in(home.resolve()):
            os.kill(pid, signal.SIGTERM)
        pytest.fail(f"storefront demo failed ({demo.returncode}):\n{_tail(demo_log)}")
    proc = None
    for _attempt in range(3):  # a free port can be taken between the probe and gunicorn's bind
        try:
            proc, base = _start(env, server_log, home)
            break
        except RuntimeError as exc:
            failure = str(exc)
            if "Address already in use" not in _tail(server_log, 20):
                break
    if proc is None:
        pytest.fail(
            f"storefront serve did not answer /healthz with 200 within {STARTUP_TIMEOUT:.0f}s "
            f"({failure}); {server_log}:\n{_tail(server_log)}"
        )
    SERVER_HOME[base] = home
    try:
        yield base
    finally:
        _stop(proc, home)


@pytest.fixture(scope="session")
def shop_home(shop_server: str) -> Path:
    """The running shop's STOREFRONT_HOME, for tests that run `storefront` commands on it."""
    return SERVER_HOME[shop_server]


# ---- the browser -----------------------------------------------------------------------------


def chromium_executable() -> str | None:
    """STOREFRONT_CHROMIUM, else the system's Chromium, else None (Playwright's own build)."""
    explicit = os.environ.get("STOREFRONT_CHROMIUM")
    if explicit:
        return explicit
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _screenshot_name(nodeid: str, index: int) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:180]
    return f"{name}{'-' + str(index) if index else ''}.png"


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Factory: ``new_page(**options)`` opens a page in a fresh context made with
    Browser.new_context(**options) (desktop viewport and UA unless given). Contexts close at
    the end of the test; on failure each page is screenshotted to test-results/ first."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**{**DESKTOP, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if _failed(request.node):
        out = request.config.rootpath / "test-results"
        out.mkdir(exist_ok=True)
        pages = [p for c in contexts for p in c.pages]
        for i, p in enumerate(pages):
            try:
                p.screenshot(
                    path=str(out / _screenshot_name(request.node.nodeid, i)), full_page=True
                )
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"screenshot failed: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop page (1280x800, desktop Chrome UA) in a fresh browser context."""
    return new_page()
