"""``scripts/setup.sh --check``: what set-up would do, decided against this very machine.

The installing half of set-up (apt-get as root, with sudo, pip, npm) needs root and the network,
so it is tried where it belongs, on fresh Debian chroots (``scripts/fresh-machine-check.sh``,
docs/fresh-machine.md). Here ``--check`` runs the same decisions without installing anything:
the real dpkg database, the real user, the real sudo or its absence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SETUP = CHECKOUT / "scripts" / "setup.sh"
ABSENT = "ked-no-such-debian-package"
"""A package name no Debian archive has, so dpkg reports it missing on any machine."""


def _check(*args: str, user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    if user is None:
        return subprocess.run([str(SETUP), "--check", *args], capture_output=True, text=True,
                              timeout=120, cwd="/")
    # Another user may not be able to read the checkout (e.g. under /root): bash reads the
    # script from its standard input, opened here (checking named packages needs no checkout).
    with SETUP.open("rb") as script:
        return subprocess.run([*user, "bash", "-s", "--", "--check", *args], stdin=script,
                              capture_output=True, text=True, timeout=120, cwd="/")


def test_every_system_package_is_present_here() -> None:
    """The suite needs them all (Java, chromium, Node ...), so this machine has them: the
    check of each row of the table agrees with the machine."""
    done = _check()
    assert "missing Debian package" not in done.stderr, done.stderr


def test_a_missing_package_is_named_with_the_exact_apt_get_line() -> None:
    done = _check(ABSENT)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert f"setup: missing Debian package {ABSENT}: named on the command line" in lines
    assert f"    apt-get update && apt-get install -y --no-install-recommends {ABSENT}" in lines
    if os.geteuid() == 0:
        assert "setup: set-up would install them (as root):" in lines
    elif shutil.which("sudo"):
        assert "setup: set-up would install them with sudo:" in lines


def test_present_packages_are_not_reported() -> None:
    done = _check("dpkg", "bash")
    assert (done.returncode, done.stderr) == (0, "setup: nothing missing\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the check as another user")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is absent")
def test_a_user_without_sudo_is_told_what_root_must_run() -> None:
    """As ``nobody``: set-up stops, naming the line root must run, then to rerun as oneself.
    (Which message a user gets depends on whether this machine has sudo.)"""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    done = _check(ABSENT, user=nobody)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert f"    apt-get update && apt-get install -y --no-install-recommends {ABSENT}" in lines
    if shutil.which("sudo"):
        assert "setup: set-up would install them with sudo:" in lines
    else:
        assert lines[1:] == [
            "setup: installing them needs root, and sudo is not installed. Ask root to run:",
            "",
            f"    apt-get update && apt-get install -y --no-install-recommends {ABSENT}",
            "",
            "setup: then run this command again as yourself.",
        ]


def test_an_unknown_option_is_a_usage_error() -> None:
    done = subprocess.run([str(SETUP), "--frobnicate"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: scripts/setup.sh")
