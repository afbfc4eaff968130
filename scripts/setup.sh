#!/usr/bin/env bash
# Set up everything the project needs on a Debian 12 machine (README.md, "Prerequisites").
#
#   scripts/setup.sh            install what is missing (run by every ./dev command)
#   scripts/setup.sh --check    install nothing: list what is missing, exit 1 if anything is
#   scripts/setup.sh --check PACKAGE...
#                               the same for these Debian packages instead of the list below
#
# 1. System packages, from Debian's apt: the table SYSTEM_PACKAGES below, one row per package
#    (package | a command that succeeds when it is already there | why). Everything missing is
#    checked first and named, then installed in one apt-get call: directly as root; with sudo
#    for a normal user who has it (saying so; sudo may ask for the password); a normal user
#    without sudo gets the exact `apt-get install ...` line root must run, and set-up stops
#    (exit 1) before touching anything. Installing system packages is the only step that
#    needs root; everything after it runs as the user and writes only into the checkout.
# 2. .venv with the package and its test tools (pip). A half-made .venv (no working python
#    or pip, e.g. created before python3-venv was installed) is removed and rebuilt.
# 3. npm packages from their lockfiles (npm ci): the query editor (server/web), Comunica
#    (clients/) and axe-core (tests/a11y). npm ci replaces node_modules as a whole, so an interrupted install is simply
#    redone: the stamp in node_modules is written only after it succeeded.
# 4. clients/jena/rsparql, Jena's rsparql with a workaround for Debian's misplaced Xerces
#    resources (scripts/jena_rsparql.py, docs/clients.md).
#
# Quick when nothing changed (every ./dev command runs it): each check is a shell built-in,
# one dpkg-query or a file comparison; pip reruns only when pyproject.toml changes, npm ci only
# when a lockfile changes, the rsparql wrapper only when Jena's version or its script changes.
# Long steps print their progress (apt-get, pip and npm output) under a "setup:" line.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"

# Debian package | shell command that succeeds when it is present (empty: dpkg says it is
# installed) | why the project needs it. The fields are split at "|", so a check cannot
# contain one (put it in a function, as venv_module). Add a row to add a package.
SYSTEM_PACKAGES=(
    "python3-venv|venv_module|creates .venv with pip in it"
    "default-jre-headless|command -v java|a Java runtime for HermiT, the OWL reasoner"
    "libseccomp2||query processes are sealed off the network with seccomp"
    "nodejs|command -v node|the query editor's front end and Comunica are npm packages"
    "npm|command -v npm|installs those npm packages from their lockfiles"
    "chromium|command -v chromium|the browser tests"
    "chromium-driver|command -v chromedriver|the browser tests drive chromium through it"
    "libapache-jena-java|test -f /usr/share/java/jena-cmds.jar|Jena's rsparql, for the client tests"
    "virtuoso-opensource|command -v virtuoso-t|the external store of the external_store tests (docs/external-store.md)"
    "haproxy|test -x /usr/sbin/haproxy|the replica tests balance over service instances (docs/scaling.md)"
    "fonts-dejavu-core|test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|the font the evidence overview's pictures are laid out with"
)

say() { echo "setup: $*" >&2; }

check_only=""
if [ "${1:-}" = "--check" ]; then
    check_only=1
    shift
    if [ "$#" -gt 0 ]; then
        SYSTEM_PACKAGES=()
        for pkg in "$@"; do SYSTEM_PACKAGES+=("$pkg||named on the command line"); done
    fi
elif [ "$#" -gt 0 ]; then
    echo "usage: scripts/setup.sh [--check [PACKAGE...]]" >&2
    exit 2
fi

# Few processes on the quick path (each costs a fork, and every ./dev command runs this).
stale() {  # stale STAMP FILE: true when STAMP does not hold FILE's hash
    local have="" want
    [ -f "$1" ] && read -r have <"$1"
    want="$(sha256sum "$2")"
    [ "$have" != "${want%% *}" ]
}
stamp() { local want; want="$(sha256sum "$2")"; echo "${want%% *}" >"$1"; }
venv_current=""
if [ -x .venv/bin/python ] && ! stale .venv/.ked-installed pyproject.toml; then venv_current=1; fi
# python3-venv is needed to create .venv: not asked for while .venv is there and up to date
# (a Python start-up less on every run; python3 itself is checked only then too).
venv_module() { [ -n "$venv_current" ] || "$PY" -c 'import ensurepip, venv'; }

# --- Prerequisites that set-up cannot install for you -------------------------------------
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    say "apt-get and dpkg-query are missing: this set-up needs Debian 12 or a system built on it"
    exit 1
fi
if [ -z "$venv_current" ] \
        && ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    say "$PY (Python >= 3.11) is missing; as root: apt-get install python3"
    exit 1
fi

# --- 1. System packages --------------------------------------------------------------------
installed() {  # the packages among "$@" that dpkg reports as installed, one a line
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null \
        | awk '$1 == "ii" { print $2 }'
}
missing_packages() {  # prints "package|why" for each row whose check fails
    local row pkg check why dpkg_rows=()
    for row in "${SYSTEM_PACKAGES[@]}"; do
        IFS='|' read -r pkg check why <<<"$row"
        if [ -z "$check" ]; then dpkg_rows+=("$pkg|$why"); continue; fi
        eval "$check" >/dev/null 2>&1 || echo "$pkg|$why"
    done
    [ "${#dpkg_rows[@]}" -gt 0 ] || return 0
    local have
    have="$(installed "${dpkg_rows[@]%%|*}")"
    for row in "${dpkg_rows[@]}"; do
        [[ $'\n'"$have"$'\n' == *$'\n'"${row%%|*}"$'\n'* ]] || echo "$row"
    done
}

missing="$(missing_packages)"
if [ -n "$missing" ]; then
    names=()
    while IFS='|' read -r pkg why; do
        say "missing Debian package $pkg: $why"
        names+=("$pkg")
    done <<<"$missing"
    line="apt-get install -y --no-install-recommends ${names[*]}"
    if [ "$(id -u)" = "0" ]; then how="root"
    elif command -v sudo >/dev/null 2>&1; then how="sudo"
    else how="none"; fi
    if [ -n "$check_only" ] || [ "$how" = "none" ]; then
        if [ "$how" = "none" ]; then
            say "installing them needs root, and sudo is not installed. Ask root to run:"
        elif [ "$how" = "sudo" ]; then
            say "set-up would install them with sudo:"
        else
            say "set-up would install them (as root):"
        fi
        echo >&2
        echo "    apt-get update && $line" >&2
        echo >&2
        [ "$how" != "none" ] || say "then run this command again as yourself."
        exit 1
    fi
    SUDO=""
    if [ "$how" = "sudo" ]; then
        SUDO="sudo"
        say "installing them with sudo (system packages need root; sudo may ask for your password)"
    fi
    say "apt-get update"
    if ! $SUDO apt-get update -q \
            || ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q install -y \
                --no-install-recommends "${names[@]}"; then
        [ -z "$SUDO" ] || say "sudo apt-get failed; if you may not use sudo, ask root to run:
    apt-get update && $line
then run this command again as yourself."
        exit 1
    fi
    still="$(missing_packages)"
    if [ -n "$still" ]; then
        say "still missing after apt-get: $(cut -d'|' -f1 <<<"$still" | xargs)"
        exit 1
    fi
fi

if [ -n "$check_only" ] && [ "$#" -gt 0 ]; then say "nothing missing"; exit 0; fi

# --- 2-4. The project's own environment, written as the user into the checkout -------------
pending=()  # what --check would do

venv_works() { [ -x .venv/bin/python ] && .venv/bin/python -c 'import pip' >/dev/null 2>&1; }
if [ -z "$venv_current" ]; then
    if [ -n "$check_only" ]; then
        pending+=(".venv: create or update (pip install -e '.[test]')")
    else
        if [ -e .venv ] && ! venv_works; then
            say ".venv is half-made (no working python or pip in it): removing and rebuilding it"
            rm -rf .venv
        fi
        if [ ! -e .venv ]; then
            say "creating .venv"
            "$PY" -m venv .venv
        fi
        say "installing the Python dependencies into .venv (pip; about a minute the first time)"
        .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
        .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -e ".[test]"
        stamp .venv/.ked-installed pyproject.toml
    fi
fi

npm_ci() {  # npm_ci DIR WHAT [NPM-OPTION...]: npm ci in DIR when its lockfile changed
    local dir="$1" what="$2"
    shift 2
    stale "$dir/node_modules/.ked-installed" "$dir/package-lock.json" || return 0
    if [ -n "$check_only" ]; then pending+=("$dir/node_modules: npm ci ($what)"); return 0; fi
    say "installing $what (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=warn "$@")
    stamp "$dir/node_modules/.ked-installed" "$dir/package-lock.json"
}
# The query editor's front end (@zazuko/yasgui), served from server/web/node_modules (never
# vendored); its packages need no install scripts.
npm_ci server/web "the query editor's front end" --ignore-scripts
# Comunica, exactly as clients/package-lock.json pins it.
npm_ci clients "Comunica, a client of the client tests"
# axe-core for the browser tests' accessibility checks (test tooling only: injected by
# tests/test_browser.py, never served).
npm_ci tests/a11y "axe-core, the browser tests' accessibility checks" --ignore-scripts

# Jena's rsparql: Debian ships jars only, and misplaces the Xerces resources jena-core needs at
# start-up (docs/clients.md); scripts/jena_rsparql.py writes a wrapper that works around it.
rsparql=clients/jena/rsparql
jena="$(dpkg-query -W -f='${Version}' libapache-jena-java)"
if [ ! -x "$rsparql" ] || ! grep -qF "rsparql $jena " "$rsparql" \
        || [ scripts/jena_rsparql.py -nt "$rsparql" ]; then
    if [ -n "$check_only" ]; then
        pending+=("$rsparql: write it (scripts/jena_rsparql.py)")
    else
        say "writing $rsparql (Jena's rsparql with the Xerces resource workaround)"
        .venv/bin/python scripts/jena_rsparql.py
    fi
fi

if [ -n "$check_only" ]; then
    for item in "${pending[@]}"; do say "to do: $item"; done
    if [ "${#pending[@]}" -gt 0 ]; then exit 1; fi
    say "nothing missing"
fi
