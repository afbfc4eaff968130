#!/usr/bin/env bash
# Try the README on fresh Debian 12 machines, and write what happened to docs/fresh-machine.md.
#
#   sudo scripts/fresh-machine-check.sh [--quick] [--full-root]
#
# Needs root (chroot, mount) and mmdebstrap; downloads Debian packages from deb.debian.org and
# Python/npm packages from their registries, as a newcomer's machine would. Not part of the
# unit tests: it takes tens of minutes. The whole suite runs once, as alice; root runs its fast
# groups (CONTRIBUTING.md) unless --full-root. --quick runs two test modules instead (for
# trying the script itself). The report says which.
#
# Each machine is a chroot of Debian 12 (bookworm, mmdebstrap's default "important" variant:
# what a minimal installation has) plus python3 and git, the README's prerequisites, with a
# fresh clone of this checkout's HEAD in each user's home. Three people try the two commands:
#
#   machine A, alice, a normal user without sudo (sudo is not installed):
#     ./dev serve   must stop at once and print the apt-get line for root;
#     root runs exactly that line; then alice's ./dev serve answers a query, Ctrl-C stops it,
#     and alice's ./dev test runs the suite.
#   machine B, bob, a normal user with sudo (NOPASSWD, so the script needs no password):
#     ./dev serve installs the system packages with sudo and answers a query.
#   machine B, root, in /root, with a half-made .venv in the clone (python but no pip):
#     ./dev serve rebuilds .venv and answers a query; ./dev test runs the suite; a second
#     set-up finds nothing to do.
#
# "Answers a query": ./dev serve --port N, a port free on the host (port 5000 may be taken: a
# chroot shares the host's network), wait for the "serving <url>" line, POST an ASK query from
# the host, then SIGINT to the process group (what Ctrl-C sends). proc, sys, dev and a tmpfs on
# /dev/shm (for chromium) are mounted for the run and unmounted afterwards; the chroots are
# deleted at the end (the logs stay in $KED_FRESH_DIR/log).
#
# Bash reads a script as it runs it: to edit this file during a run, run a copy from a clone
# (KED_FRESH_REPORT names where the report goes; default docs/fresh-machine.md of the clone).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
quick=""
full_root=""
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --full-root) full_root=1 ;;
        *) echo "usage: scripts/fresh-machine-check.sh [--quick] [--full-root]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = "0" ] || { echo "fresh-machine-check: needs root (chroot, mount)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "fresh-machine-check: apt-get install mmdebstrap" >&2; exit 2; }

work="${KED_FRESH_DIR:-/var/tmp/ked-fresh-check}"
commit="$(git -C "$repo" rev-parse HEAD)"
report="${KED_FRESH_REPORT:-$repo/docs/fresh-machine.md}"
log="$work/log"
if grep -qF " $work/" /proc/mounts; then
    echo "fresh-machine-check: something is still mounted under $work (an interrupted run?):" \
         "unmount it first (grep '$work' /proc/mounts)" >&2
    exit 2
fi
rm -rf --one-file-system "$work"
apt_cache="$work-apt-archives"  # kept between runs: downloads only
mkdir -p "$apt_cache/partial" "$log"
cached_debs=$(find "$apt_cache/" -maxdepth 1 -name '*.deb' | wc -l)
rows=()       # the report's table rows
notes=()      # the report's notes
mounted=()    # mount points to unmount, in order

cleanup() {
    local i
    for (( i=${#mounted[@]}-1; i>=0; i-- )); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    mounted=()
}
trap cleanup EXIT

say() { echo "fresh-machine-check: $*" >&2; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.0f}')"; }

say "building the Debian 12 base (mmdebstrap)"
t0=$(now)
mmdebstrap --variant=important --include=python3,git bookworm "$work/base" \
    >"$log/mmdebstrap.log" 2>&1
base_secs=$(secs "$t0" "$(now)")

# This machine's TLS: pip and npm inside the chroot trust what the host trusts (a site's
# TLS-inspecting proxy CA, if any); on a machine with direct access it changes nothing.
ca_env="PIP_CERT=/etc/ked-host-ca.pem NODE_EXTRA_CA_CERTS=/etc/ked-host-ca.pem"

make_machine() {  # make_machine NAME: a copy of the base with proc/sys/dev mounted
    local root="$work/$1"
    cp -a "$work/base" "$root"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ked-host-ca.pem"
    cp /etc/resolv.conf /etc/hosts "$root/etc/"
    mount -t proc proc "$root/proc"; mounted+=("$root/proc")
    mount --bind /sys "$root/sys"; mounted+=("$root/sys")
    mount --bind /dev "$root/dev"; mounted+=("$root/dev")
    mount -t tmpfs -o mode=1777 shm "$root/dev/shm"; mounted+=("$root/dev/shm")
    # Downloaded .debs are shared between the machines (downloads only; nothing installed).
    mount --bind "$apt_cache" "$root/var/cache/apt/archives"
    mounted+=("$root/var/cache/apt/archives")
}

add_user() {  # add_user MACHINE USER: a user with a fresh clone in their home
    local root="$work/$1" user="$2" home
    if [ "$user" = root ]; then home=/root; else
        chroot "$root" useradd -m -s /bin/bash "$user"; home="/home/$user"; fi
    git clone -q "$repo" "$root$home/ketamine-ed-kg"
    git -C "$root$home/ketamine-ed-kg" checkout -q "$commit"
    chroot "$root" chown -R "$user:" "$home/ketamine-ed-kg"
}

as_user() {  # as_user MACHINE USER COMMAND: a login-like environment, in the clone
    local root="$work/$1" user="$2" home=/home/$2 path=/usr/local/bin:/usr/bin:/bin
    if [ "$user" = root ]; then home=/root; path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; fi
    # shellcheck disable=SC2086
    chroot --userspec="$user:$user" "$root" env -i HOME="$home" USER="$user" LOGNAME="$user" \
        SHELL=/bin/bash PATH="$path" LANG=C.UTF-8 TERM=dumb $ca_env \
        bash -c "cd ~/ketamine-ed-kg && $3"
}

record() { rows+=("| $1 | $2 | $3 | $4 |"); say "$1 / $2: $3 ($4 s)"; write_report; }

try_serve() {  # try_serve MACHINE USER LABEL: ./dev serve, a query, Ctrl-C
    local machine="$1" user="$2" label="$3" out="$log/serve-$1-$2.log" pid url="" t0 i rc
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    t0=$(now)
    : >"$out"
    setsid bash -c "$(declare -f as_user); work='$work'; ca_env='$ca_env'; \
        as_user '$machine' '$user' 'exec ./dev serve --port $port'" >"$out" 2>&1 &
    pid=$!
    for (( i=0; i<3600; i++ )); do
        url="$(grep -o 'serving http://[^ ]*' "$out" | head -1 | cut -d' ' -f2 || true)"
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if [ -z "$url" ]; then
        record "$label" "\`./dev serve\`" "FAILED: no URL (log: $(tail -3 "$out" | tr '\n' ' '))" "$(secs "$t0" "$(now)")"
        kill -INT -- -"$pid" 2>/dev/null || true; wait "$pid" || true
        return 1
    fi
    local answer
    answer="$(python3 - "$url" <<'EOF'
import sys, urllib.parse, urllib.request
body = urllib.parse.urlencode({"query": "ASK { ?s a ?type }"}).encode()
request = urllib.request.Request(sys.argv[1], body, {"Accept": "application/sparql-results+json"})
print(urllib.request.urlopen(request, timeout=60).read().decode().strip().replace("\n", " "))
EOF
)"
    local answered; answered=$(secs "$t0" "$(now)")
    local before; before=$(wc -l <"$out")
    kill -INT -- -"$pid"
    rc=0; wait "$pid" || rc=$?
    local after; after="$(tail -n +"$((before + 1))" "$out")"
    record "$label" "\`./dev serve\`" "answered \`$answer\` at $url; Ctrl-C: exit $rc, printed: \`$(sed ':a;N;$!ba;s/\n/ ⏎ /g' <<<"$after")\`" "$answered"
}

FAST='-m "not (slow or hermit or pyrudof or rebuild or deadline or w3c or fuzz or browser)" --ignore=tests/test_openapi_schemathesis.py'
try_test() {  # try_test MACHINE USER LABEL [fast]: ./dev test (or its fast groups), the summary
    local machine="$1" user="$2" label="$3" out="$log/test-$1-$2.log" t0 rc=0 args="-q" what
    what="\`./dev test\`"
    if [ -n "$quick" ]; then
        args="$args tests/test_server_cli.py tests/test_validate_cli.py"; what="$what (--quick: 2 modules)"
    elif [ -n "${4:-}" ]; then
        args="$args $FAST"; what="\`./dev test $FAST\` (the fast groups, CONTRIBUTING.md)"
    fi
    t0=$(now)
    as_user "$machine" "$user" "./dev test $args" >"$out" 2>&1 || rc=$?
    local summary; summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$out" | tail -1 | tr -d '=' | xargs || true)"
    record "$label" "$what" "exit $rc: $summary" "$(secs "$t0" "$(now)")"
}

write_report() {  # the report so far (rewritten after every row, so a long run shows progress)
cat >"$report" <<EOF
# Fresh-machine check

Written by \`scripts/fresh-machine-check.sh\` on $(date -u +'%Y-%m-%d %H:%M UTC') for commit
\`${commit:0:12}\`${quick:+ (**--quick**: a subset of the tests)}: Debian 12 chroots (mmdebstrap, variant
\`important\`, plus \`python3\` and \`git\`: built in ${base_secs} s) with a fresh clone in each
user's home, on a shared 2-core machine; no \`../shared\` (the tests that need it skip, saying
why). \`./dev serve\` was run with \`--port N\`, N free on the host (a chroot shares the host's ports), until it
printed its URL, asked an ASK query over HTTP, then got SIGINT (Ctrl-C); times are from the
start of the command (so the first \`./dev serve\` includes the set-up and the build).
Downloaded \`.deb\` files are shared between the two machines ($cached_debs were already there from an
earlier run when this one started).

| who | command | result | seconds |
|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

$(for n in "${notes[@]}"; do echo "- $n"; done)

Logs of the run were in \`$log\`.
$([ -n "${finished:-}" ] || echo "**The run was still going when this was written: rows are missing.**")
EOF
}

# --- machine A: alice, no sudo -------------------------------------------------------------
say "machine A"
make_machine A
add_user A alice
t0=$(now); rc=0
as_user A alice "./dev serve" >"$log/A-alice-first.log" 2>&1 || rc=$?
line="$(grep -o 'apt-get update && apt-get install .*' "$log/A-alice-first.log" || true)"
record "A: alice, no sudo" "\`./dev serve\` (first)" "exit $rc, stopped with: \`$line\`" "$(secs "$t0" "$(now)")"
if [ -n "$line" ]; then
    t0=$(now)
    chroot "$work/A" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        bash -c "$line" >"$log/A-root-apt.log" 2>&1 && rc=0 || rc=$?
    record "A: root" "the printed line" "exit $rc" "$(secs "$t0" "$(now)")"
fi
try_serve A alice "A: alice, no sudo" || true
try_test A alice "A: alice, no sudo"
cleanup

# --- machine B: bob with sudo, then root ---------------------------------------------------
say "machine B"
make_machine B
chroot "$work/B" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    bash -c "apt-get update -qq && apt-get install -y -qq sudo" >"$log/B-sudo.log" 2>&1
add_user B bob
echo "bob ALL=(ALL) NOPASSWD: ALL" >"$work/B/etc/sudoers.d/bob"
try_serve B bob "B: bob, sudo" || true
grep -q "with sudo" "$log/serve-B-bob.log" && notes+=("bob's set-up said: \`$(grep -m1 'with sudo' "$log/serve-B-bob.log")\`")
add_user B root
# A half-made .venv, as a venv created without python3-venv leaves it (python, no pip).
as_user B root "python3 -m venv --without-pip .venv"
try_serve B root "B: root, a half-made .venv in the clone" || true
grep -q "half-made" "$log/serve-B-root.log" && notes+=("root's set-up said: \`$(grep -m1 'half-made' "$log/serve-B-root.log")\`")
try_test B root "B: root" "$([ -n "$full_root" ] || echo fast)"
t0=$(now)
as_user B root "./dev setup" >"$log/B-root-again.log" 2>&1 && rc=0 || rc=$?
record "B: root" "set-up again (nothing changed)" "exit $rc, $(wc -l <"$log/B-root-again.log") lines of output" "$(secs "$t0" "$(now)")"
cleanup

finished=1
write_report
rm -rf --one-file-system "$work/A" "$work/B" "$work/base"
say "wrote $report"
