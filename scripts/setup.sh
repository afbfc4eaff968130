#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine that has Python, pip and apt:
#   - a Java runtime for HermiT (the OWL reasoner owlready2 runs), from Debian's packages;
#   - Node.js/npm and the query editor's npm packages (server/web), chromium for browser tests;
#   - a virtual environment in .venv with the package and its test tools.
# Idempotent and quick when nothing changed: reruns pip only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_install() {
    # apt-get update once per run, only when something is missing.
    if [ -z "${_APT_UPDATED:-}" ]; then
        $SUDO apt-get update -qq >/dev/null
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v java >/dev/null 2>&1; then
    echo "setup: installing a Java runtime for the HermiT reasoner" >&2
    apt_install default-jre-headless
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then
    echo "setup: installing libseccomp (query processes are sealed off the network with it)" >&2
    apt_install libseccomp2
fi

# The query editor's front end (@zazuko/yasgui) comes from the npm registry, pinned by
# server/web/package-lock.json, and is served from server/web/node_modules (never vendored).
# The browser tests drive Debian's chromium through its chromedriver (nothing downloads a
# browser of its own).
if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Node.js and npm (for the query editor's front end)" >&2
    apt_install nodejs npm
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "setup: installing chromium and chromium-driver (for the browser tests)" >&2
    apt_install chromium chromium-driver
fi
web_stamp=server/web/node_modules/.ked-installed
web_want="$(sha256sum server/web/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$web_want" ]; then
    echo "setup: installing the query editor (npm ci in server/web)" >&2
    (cd server/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
    echo "$web_want" > "$web_stamp"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    "$PY" -m venv .venv
fi
stamp=.venv/.ked-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing Python dependencies" >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
fi
