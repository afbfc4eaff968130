"""Releases: immutable, versioned build outputs, one pointer to the current one, and the
identity (ETag, version, Last-Modified) of the dataset a server actually serves.

Layout of ``build/``::

    releases/<digest>/      dataset.nq, ketamine-ed-kg.{ttl,nt,owl,jsonld}, void.ttl,
                            manifest.json (written last); never modified once in place
    releases/HISTORY        one release digest per line, in the order they became current
    current -> releases/<digest>
    dataset.nq -> current/dataset.nq, manifest.json -> current/manifest.json, ...

``<digest>`` is the SHA-256 of the release's ``sha256sum`` listing, so a directory name stands
for exactly one set of bytes. A build writes a new release into a staging folder, renames it
into ``releases/`` complete, then switches ``current`` by renaming a new symlink over it (one
atomic ``rename``). A build killed at any moment therefore leaves ``current`` on a complete
release whose manifest describes its own files; the top-level names (``build/dataset.nq``, ...)
are symlinks through ``current``, so they switch together with it.

A server must not follow ``current`` by itself: :func:`resolve_release` is called once, by
``ketamine-ed-kg serve``, and the concrete ``releases/<digest>/dataset.nq`` goes into the
configuration every HTTP process is built from, so a process respawned after a rebuild still
serves the same version. :func:`hold_release` keeps the build from pruning a release that a
running server is pinned to.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NotRequired, TypedDict

from .errors import BuildMissingError

DATASET_FILE = "dataset.nq"
MANIFEST_FILE = "manifest.json"
RELEASES_DIR = "releases"
CURRENT_LINK = "current"
HISTORY_FILE = "HISTORY"
LOCK_FILE = ".build.lock"
KEEP_RELEASES = 3
"""Releases kept by a build: ``current`` and the two before it (plus any a server holds)."""

_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_TEMP_RE = re.compile(r"^\..+\.[0-9]+\.(tmp|link)$")
"""Names of :func:`write_file`'s, :func:`switch_current`'s and :func:`link_compat`'s
temporary files (``.<name>.<pid>.tmp`` / ``.link``)."""
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Manifest(TypedDict):
    """``manifest.json`` of a release: what it holds and where it came from.

    ``digest`` is the SHA-256 of ``dataset.nq`` (the served data: the ETag derives from it);
    ``release`` names the release directory; ``sources`` is the digest of the source files
    (a build is skipped when it has not changed); ``built`` is when the release was first
    written (``SOURCE_DATE_EPOCH`` if set). ``sha256`` and ``bytes`` describe each file.
    """

    digest: str
    release: str
    sources: str
    version: str
    built: str
    files: list[str]
    sha256: dict[str, str]
    bytes: dict[str, int]
    counts: dict[str, int]
    object_kinds: NotRequired[dict[str, str]]
    """Predicate IRI -> the one kind of all its objects in ``dataset.nq`` (``node``,
    ``string``, ``number``), for predicates that have one (``engine_defects.object_kinds``):
    ORDER BY on their objects needs no rewrite. Absent in releases built before it."""


@dataclass(frozen=True)
class DatasetVersion:
    """Identity of the served data, from which ETag and Last-Modified derive."""

    tag: str
    version: str
    modified: datetime


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest in ``directory`` (a release, ``build/current`` or ``build/``), or None if
    there is none or it is unreadable (a half-written manifest only means "rebuild")."""
    path = directory / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(loaded, dict):
        return None
    manifest: Manifest = loaded  # type: ignore[assignment]
    return manifest


def releases_dir(build_dir: Path) -> Path:
    """``build/releases``."""
    return build_dir / RELEASES_DIR


def resolve_release(build_dir: Path) -> Path:
    """The release directory ``build/current`` points to now, as a real path (no symlink), so
    that whoever keeps it is unaffected by later builds. Call it once and pass the result on.

    Raises :class:`BuildMissingError` when nothing was built (or ``current`` is broken).
    """
    link = build_dir / CURRENT_LINK
    try:
        target = link.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, RuntimeError):
        raise BuildMissingError(
            f"{link} does not point to a release: run `ketamine-ed-kg build` first") from None
    if not (target / MANIFEST_FILE).is_file():
        raise BuildMissingError(f"{target} is not a complete release: run `ketamine-ed-kg "
                                "build` first")
    return target


def current_dataset(build_dir: Path) -> Path:
    """``releases/<digest>/dataset.nq`` of the current release, or ``build/dataset.nq`` when
    there is no release yet (a missing file then says "run the build")."""
    try:
        return resolve_release(build_dir) / DATASET_FILE
    except BuildMissingError:
        return build_dir / DATASET_FILE


def pin_dataset(dataset: Path) -> Path:
    """The concrete file behind ``dataset``: symlinks such as ``build/dataset.nq`` or
    ``build/current/dataset.nq`` resolved once, so the caller keeps this version. A path that
    does not exist is returned unchanged (loading it reports it missing)."""
    try:
        return dataset.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, RuntimeError):
        return dataset


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_version(dataset: Path) -> DatasetVersion:
    """Identity of ``dataset``: the tag is the SHA-256 (first 32 hex digits) of the file.

    Symlinks are resolved first and the manifest is read in the same directory as the real
    file, so file and manifest always belong to one release. The manifest (written before the
    release can become current) supplies the digest when its size matches; otherwise the file
    is hashed.
    """
    real = pin_dataset(dataset)
    if not real.is_file():
        raise BuildMissingError(f"{dataset} is missing: run `ketamine-ed-kg build` first")
    stat = real.stat()
    mtime = datetime.fromtimestamp(int(stat.st_mtime), UTC)
    manifest = read_manifest(real.parent)
    if manifest is not None:
        digest = (manifest.get("sha256") or {}).get(real.name)
        size = (manifest.get("bytes") or {}).get(real.name)
        if isinstance(digest, str) and _DIGEST_RE.match(digest) and size == stat.st_size:
            modified = mtime
            try:
                modified = datetime.strptime(manifest["built"], _TIME_FORMAT).replace(tzinfo=UTC)
            except (KeyError, TypeError, ValueError):
                pass
            return DatasetVersion(digest[:32], str(manifest.get("version", "")), modified)
    digest = file_digest(real)
    return DatasetVersion(digest[:32], digest[:12], mtime)


class ReleaseHold:
    """A shared lock on a release directory, held while a server may load from it; a build
    never prunes a held release. Closing it (or the process ending) releases it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ReleaseHold:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def hold_release(release: Path) -> ReleaseHold:
    """Hold ``release`` (a ``releases/<digest>`` directory) against pruning. For any other
    directory (a dataset outside the build) the hold does nothing."""
    if release.parent.name != RELEASES_DIR or not _DIGEST_RE.match(release.name):
        return ReleaseHold(release, None)
    try:
        fd = os.open(release, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise BuildMissingError(f"{release} was removed: run `ketamine-ed-kg build`") from None
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        same = os.stat(release).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # pruned between open and lock
        os.close(fd)
        raise BuildMissingError(f"{release} was removed: run `ketamine-ed-kg build`")
    return ReleaseHold(release, fd)


def pin_current(build_dir: Path) -> ReleaseHold:
    """Resolve the current release once and hold it (``serve`` does this before starting)."""
    for _ in range(2):  # a release pruned between resolving and holding: resolve again
        with contextlib.suppress(BuildMissingError):
            return hold_release(resolve_release(build_dir))
    return hold_release(resolve_release(build_dir))


@contextlib.contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Serialise builds of one ``build/`` folder (an exclusive ``flock``)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(build_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def release_digest(hashes: Mapping[str, str]) -> str:
    """Name of a release: SHA-256 of its ``sha256sum``-style listing (sorted by file name)."""
    listing = "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes))
    return hashlib.sha256(listing.encode()).hexdigest()


def build_time() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` (reproducible-builds.org) when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.strftime(_TIME_FORMAT)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, payload: bytes) -> None:
    """Write ``payload`` durably via a temporary file and a rename: readers see the old or the
    new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def stage_release(build_dir: Path, files: Mapping[str, bytes], manifest: Manifest) -> Path:
    """Write a complete release into a staging folder (the manifest last, everything synced)
    and return that folder; nothing visible changes yet."""
    root = releases_dir(build_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{manifest['release'][:16]}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for name, payload in files.items():
        write_file(staging / name, payload)
    write_file(staging / MANIFEST_FILE, _manifest_bytes(manifest))
    _fsync_dir(staging)
    return staging


def install_release(build_dir: Path, staging: Path, digest: str) -> Path:
    """Rename a staged release to ``releases/<digest>`` (atomic: it appears complete)."""
    target = releases_dir(build_dir) / digest
    os.rename(staging, target)
    _fsync_dir(target.parent)
    return target


def repair_release(release: Path, files: Mapping[str, bytes], manifest: Manifest) -> None:
    """Make an existing ``releases/<digest>`` hold exactly ``files`` again (content-addressed,
    so any file that differs was damaged) and refresh its manifest, keeping its ``built``."""
    for name, payload in files.items():
        path = release / name
        try:
            intact = path.stat().st_size == len(payload) and file_digest(path) == \
                hashlib.sha256(payload).hexdigest()
        except FileNotFoundError:
            intact = False
        if not intact:
            write_file(path, payload)
    old = read_manifest(release)
    kept: Manifest = dict(manifest)  # type: ignore[assignment]
    if old is not None and isinstance(old.get("built"), str):
        kept["built"] = old["built"]
    if old != kept:
        write_file(release / MANIFEST_FILE, _manifest_bytes(kept))


def switch_current(build_dir: Path, release: Path) -> None:
    """Point ``build/current`` at ``release``: a new symlink renamed over the old one."""
    tmp = build_dir / f".{CURRENT_LINK}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(f"{RELEASES_DIR}/{release.name}", tmp)
    os.replace(tmp, build_dir / CURRENT_LINK)
    _fsync_dir(build_dir)
    _append_history(build_dir, release.name)


def link_compat(build_dir: Path, names: list[str]) -> None:
    """Make ``build/<name>`` a symlink to ``current/<name>`` (the paths of the pre-release
    layout), replacing a regular file of that layout atomically."""
    for name in names:
        link = build_dir / name
        wanted = f"{CURRENT_LINK}/{name}"
        if link.is_symlink() and os.readlink(link) == wanted:
            continue
        if link.is_dir() and not link.is_symlink():
            continue  # not ours to replace
        tmp = build_dir / f".{name}.{os.getpid()}.link"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(wanted, tmp)
        os.replace(tmp, link)


def _history(build_dir: Path) -> list[str]:
    path = releases_dir(build_dir) / HISTORY_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line for line in lines if _DIGEST_RE.match(line)]  # a torn last line is skipped


def _append_history(build_dir: Path, digest: str) -> None:
    history = _history(build_dir)
    if history and history[-1] == digest:
        return
    write_file(releases_dir(build_dir) / HISTORY_FILE,
               "".join(f"{line}\n" for line in [*history, digest]).encode())


def prune_releases(build_dir: Path, keep: int = KEEP_RELEASES) -> list[str]:
    """Delete releases beyond the ``keep`` most recently current ones; never the one
    ``current`` points to, nor one a server holds (:func:`hold_release`). Also removes the
    leftovers of killed builds. Call with the build lock held. Returns the pruned digests."""
    root = releases_dir(build_dir)
    if not root.is_dir():
        return []
    for leftover in root.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.glob(".trash-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for folder in (build_dir, root, *(p for p in root.iterdir() if p.is_dir())):
        for temp in folder.glob(".*"):  # temporary files and links of a killed build
            if _TEMP_RE.match(temp.name) and not temp.is_dir():
                temp.unlink(missing_ok=True)
    try:
        current = resolve_release(build_dir).name
    except BuildMissingError:
        current = None
    recent: list[str] = []
    for digest in reversed(_history(build_dir)):
        if digest not in recent and digest != current:
            recent.append(digest)
    kept = {current, *recent[:max(0, keep - 1)]}
    pruned: list[str] = []
    for path in sorted(root.iterdir()):
        if not path.is_dir() or path.name in kept or not _DIGEST_RE.match(path.name):
            continue
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a running server holds it
            trash = root / f".trash-{path.name}-{os.getpid()}"
            os.rename(path, trash)  # atomic: the release is gone, never half-deleted
        finally:
            os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
        pruned.append(path.name)
    survivors = {p.name for p in root.iterdir() if p.is_dir()}
    history = _history(build_dir)
    latest: list[str] = []  # each surviving release once, at its last switch
    for digest in reversed(history):
        if digest in survivors and digest not in latest:
            latest.append(digest)
    if latest[::-1] != history:
        write_file(root / HISTORY_FILE, "".join(f"{d}\n" for d in latest[::-1]).encode())
    return pruned


__all__ = ["CURRENT_LINK", "DATASET_FILE", "KEEP_RELEASES", "MANIFEST_FILE", "RELEASES_DIR",
           "DatasetVersion", "Manifest", "ReleaseHold", "build_lock", "current_dataset",
           "dataset_version", "file_digest", "hold_release", "install_release", "link_compat",
           "pin_current", "pin_dataset", "prune_releases", "read_manifest", "release_digest",
           "releases_dir", "repair_release", "resolve_release", "stage_release",
           "switch_current"]
