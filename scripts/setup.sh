#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine that has Python, pip and apt:
#   - a Java runtime for HermiT (the OWL reasoner owlready2 runs), from Debian's packages;
#   - a virtual environment in .venv with the package and its test tools;
#   - Node.js and npm from Debian when the machine has none; the query editor's npm packages
#     (server/web, npm ci), chromium with chromium-driver and axe-core (tests/a11y, npm ci) for
#     the browser tests;
#   - the DejaVu fonts the evidence overview's pictures are drawn with;
#   - the third-party SPARQL clients of the client matrix (docs/clients.md): Apache Jena's rsparql
#     from Debian's libapache-jena-java (with a workaround for that package's misplaced Xerces
#     resources: scripts/jena_rsparql.py), and Comunica from clients/package-lock.json (npm ci);
#   - HAProxy, which the replica tests put in front of several service instances (docs/scaling.md).
# Idempotent and quick when nothing changed: reruns pip only when pyproject.toml changes, npm ci
# only when a lockfile changes, and rewrites clients/jena/rsparql only when Jena's version
# changes or scripts/jena_rsparql.py is newer than it.
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

if [ ! -f /usr/share/java/jena-cmds.jar ]; then
    echo "setup: installing Apache Jena (rsparql, for the client tests)" >&2
    apt_install libapache-jena-java
fi

node_missing=()
command -v node >/dev/null 2>&1 || node_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || node_missing+=(npm)
if [ "${#node_missing[@]}" -gt 0 ]; then
    echo "setup: installing ${node_missing[*]} (the query editor's front end, Comunica)" >&2
    apt_install "${node_missing[@]}"
fi

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    echo "setup: installing HAProxy (the replica tests balance over service instances)" >&2
    apt_install haproxy
fi

if ! ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then
    echo "setup: installing libseccomp (query processes are sealed off the network with it)" >&2
    apt_install libseccomp2
fi

# The query editor's front end (@zazuko/yasgui) comes from the npm registry, pinned by
# server/web/package-lock.json, and is served from server/web/node_modules (never vendored).
# The browser tests drive Debian's chromium through its chromedriver (nothing downloads a
# browser of its own).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "setup: installing chromium and chromium-driver (for the browser tests)" >&2
    apt_install chromium chromium-driver
fi
# The evidence overview's pictures are drawn on the server (vl-convert) with DejaVu Sans, whose
# metrics lay out the labels; browsers without it fall back to a narrower sans-serif.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    echo "setup: installing fonts-dejavu-core (the evidence overview's pictures)" >&2
    apt_install fonts-dejavu-core
fi
web_stamp=server/web/node_modules/.ked-installed
web_want="$(sha256sum server/web/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$web_want" ]; then
    echo "setup: installing the query editor (npm ci in server/web)" >&2
    (cd server/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
    echo "$web_want" > "$web_stamp"
fi

# axe-core for the browser tests' accessibility checks (tests/a11y/package-lock.json; test
# tooling only: injected by tests/test_browser.py, never served).
a11y_stamp=tests/a11y/node_modules/.ked-installed
a11y_want="$(sha256sum tests/a11y/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$a11y_stamp" ] || [ "$(cat "$a11y_stamp")" != "$a11y_want" ]; then
    echo "setup: installing axe-core (npm ci in tests/a11y)" >&2
    (cd tests/a11y && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
    echo "$a11y_want" > "$a11y_stamp"
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

# Jena's rsparql: Debian ships jars only, and misplaces the Xerces resources jena-core needs at
# start-up (docs/clients.md); scripts/jena_rsparql.py writes a wrapper that works around it.
rsparql=clients/jena/rsparql
jena="$(dpkg-query -W -f='${Version}' libapache-jena-java)"
if [ ! -x "$rsparql" ] || ! grep -qF "rsparql $jena " "$rsparql" \
        || [ scripts/jena_rsparql.py -nt "$rsparql" ]; then
    echo "setup: writing $rsparql (Jena's rsparql with the Xerces resource workaround)" >&2
    .venv/bin/python scripts/jena_rsparql.py
fi

# Comunica, exactly as clients/package-lock.json pins it.
stamp=clients/node_modules/.ked-installed
want="$(sha256sum clients/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing Comunica (npm ci in clients/)" >&2
    (cd clients && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
fi
