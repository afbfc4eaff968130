"""The check that a test run leaves the checkout as it found it (``conftest.py`` runs it).

At session start and end it records ``git status --porcelain --ignored`` of the checkout and,
for every path listed there and every tracked file, a fingerprint (size and modification time
of each file, the target of each symbolic link, walked through folders), so that a file written
inside a folder git already listed as untracked or ignored (``build/``, say), or a tracked file
rewritten with its own content, counts as well. Paths that tools
and Python write as a matter of course are left out: ``.venv``, ``__pycache__``,
``.pytest_cache``, ``.mypy_cache``, ``.ruff_cache`` and ``*.egg-info``.

Git runs with ``GIT_OPTIONAL_LOCKS=0``, so reading the status never takes the index lock that
a concurrent git command may hold, nor rewrites the index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path, PurePosixPath

NOISE_NAMES = frozenset({".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
NOISE_SUFFIXES = (".egg-info",)

Snapshot = dict[str, str]
"""Path (relative to the checkout, as git prints it) -> status code and fingerprint."""


def is_noise(relative: str) -> bool:
    return any(part in NOISE_NAMES or part.endswith(NOISE_SUFFIXES)
               for part in PurePosixPath(relative.rstrip("/")).parts)


def fingerprint(path: Path) -> str:
    """What changes when anything at ``path`` (recursively, symlinks not followed) changes."""
    if path.is_symlink():
        return f"link -> {os.readlink(path)}"
    if path.is_file():
        stat = path.stat()
        return f"file {stat.st_size} {stat.st_mtime_ns}"
    if not path.is_dir():
        return "absent"
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not is_noise(d))
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            if is_noise(name):
                continue
            child = Path(folder, name)
            digest.update(f"{child.relative_to(path)}\0{fingerprint(child)}\0".encode())
    return f"folder {digest.hexdigest()[:16]}"


def _git(root: Path, *args: str) -> bytes:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True,
                          timeout=120, env=env).stdout


def snapshot(root: Path) -> Snapshot | None:
    """The state of the checkout at ``root``, or None where git cannot tell (no git, or not a
    git checkout)."""
    try:
        tracked = _git(root, "ls-files", "-z")
        out = _git(root, "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=normal")
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    # Tracked files by their fingerprint too: git status does not list a file rewritten with
    # the content it had.
    state: Snapshot = {os.fsdecode(name): f"   {fingerprint(root / os.fsdecode(name))}"
                       for name in tracked.split(b"\0") if name}
    items = out.split(b"\0")
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if len(item) < 4:
            continue
        code, relative = item[:2].decode(), os.fsdecode(item[3:])
        if code[0] in "RC":
            index += 1  # -z puts a rename's or copy's source path in the next field
        if not is_noise(relative):
            state[relative] = f"{code} {fingerprint(root / relative)}"
    return state


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per path whose status or content differs."""
    lines = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old != new:
            what = "created" if old is None else "removed" if new is None else "changed"
            lines.append(f"{what}: {path}  ({old or '-'} => {new or '-'})")
    return lines
