"""The SPARQL parser saved beside the release it serves, so a start reads it instead of
building it.

Building Lark's LALR tables for the sparqlib grammar takes about a second, most of the time
between ``ketamine-ed-kg serve`` and its first answer; reading them back with Lark's own
serialisation (``Lark.save`` / ``Lark.load``) takes a tenth of that. The zygote calls
:func:`prepare` with the folder of the dataset it serves (``build/releases/<digest>/``): it
loads ``sparql-parser-<key>.lark`` there, or builds the parser and writes that file (atomically,
through a temporary file and a rename) when the folder is writable, for the next start.

The file name and its first line carry a key over everything the saved tables depend on: the
grammar's text, Lark's options and version, the Python version, the compiled code of our own
terminal edits (``security.PARSER_EDITS``: Lark's own cache key leaves ``edit_terminals`` out)
and :data:`FORMAT`. Any change gives another name, so releases served by two versions of the
code keep a file each (they go with the release when ``build`` prunes it). The lexer callbacks
(bracket depth) are saved as references to ``security``'s functions, so a loaded parser runs
this code's callbacks; :func:`load` checks that they are exactly ours.

A saved parser is a pickle, so reading one can run code: only a file in the operator's release
folder is read, and only if it is a regular file owned by this user (or root) that nobody else
may write. A missing, stale, foreign or damaged file is never an error: the parser is built as
before.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from types import CodeType

import lark
from lark import Lark

from . import security

log = logging.getLogger(__name__)

FORMAT = 1
"""Bump when what a saved parser must hold changes in a way the key cannot see."""

_MAGIC = b"ketamine-ed-kg sparql parser "
_PREFIX = "sparql-parser-"
_SUFFIX = ".lark"


def _code_parts(code: CodeType) -> Iterable[bytes]:
    """What a compiled function does (bytecode, constants, names), without its line numbers,
    so moving it in the file changes nothing."""
    yield code.co_code
    yield repr(code.co_names).encode()
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _code_parts(const)
        else:
            yield repr(const).encode()


def cache_key(grammar: str | None = None) -> str:
    """The key of the parser this code would build from ``grammar`` (default: sparqlib's)."""
    digest = hashlib.sha256()
    parts: list[bytes] = [
        f"format {FORMAT}".encode(),
        (grammar if grammar is not None else security.grammar_text()).encode(),
        repr(sorted(security.PARSER_OPTIONS.items())).encode(),
        f"lark {lark.__version__}".encode(),
        f"{sys.implementation.name} {sys.version_info[:2]}".encode(),
        repr(sorted((name, f"{f.__module__}.{f.__qualname__}")
                    for name, f in security.lexer_callbacks().items())).encode(),
    ]
    for edit in security.PARSER_EDITS:
        parts.append(f"{edit.__module__}.{edit.__qualname__}".encode())
        parts.extend(_code_parts(edit.__code__))
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def cache_file(folder: Path, key: str) -> Path:
    """Where the parser of ``key`` is saved in ``folder``."""
    return folder / f"{_PREFIX}{key[:32]}{_SUFFIX}"


def _trusted(info: os.stat_result) -> bool:
    """A regular file of this user (or root) that no one else may write."""
    return (stat.S_ISREG(info.st_mode) and info.st_uid in (os.getuid(), 0)
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def load(folder: Path, key: str | None = None) -> Lark | None:
    """The parser saved in ``folder`` for this code, or None (missing, stale, foreign or
    damaged: the caller builds it)."""
    key = key or cache_key()
    path = cache_file(folder, key)
    handle = _open_trusted(path)
    if handle is None:
        return None
    try:
        with handle:
            if handle.readline() != _MAGIC + key.encode() + b"\n":
                return None
            loaded = Lark.load(handle)
        if loaded.options.lexer_callbacks != security.lexer_callbacks():
            log.warning("the saved parser %s has other lexer callbacks: building it", path)
            return None
        return security.checked_parser(loaded)
    except Exception as exc:  # noqa: BLE001 - a damaged file: build the parser instead
        log.warning("the saved parser %s could not be read (%s: %s): building it",
                    path, type(exc).__name__, exc)
        return None


def save(parser: Lark, folder: Path, key: str | None = None) -> Path | None:
    """Write ``parser`` into ``folder`` for later starts (atomically); return the file, or
    None when the folder cannot be written (a read-only release: starts build the parser)."""
    key = key or cache_key()
    body = io.BytesIO()
    body.write(_MAGIC + key.encode() + b"\n")
    parser.save(body, exclude_options=("edit_terminals",))
    return _write(folder, cache_file(folder, key), body.getvalue())


def _open_trusted(path: Path) -> io.BufferedReader | None:
    """``path`` opened for reading if it is a trusted file (:func:`_trusted`, no symlink
    followed, checked on the open file), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None  # missing (or a symlink): nothing to read
    handle = os.fdopen(fd, "rb")
    if not _trusted(os.fstat(handle.fileno())):
        handle.close()
        log.warning("not reading the saved parser %s: it is not a file of this user "
                    "that only this user may write", path)
        return None
    return handle


def _write(folder: Path, path: Path, payload: bytes) -> Path | None:
    """Write ``payload`` as ``path`` atomically; None when ``folder`` cannot be written."""
    # The name of a killed writer's leftover is one `build`'s pruning removes (release.py).
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("the parser was not saved in %s: %s", folder, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None
    return path


def prepare(folder: Path | None) -> Lark:
    """Make this process's parser (``security.parser``): the one saved in ``folder`` if there
    is one for this code, else a new one, then saved there. Call it before forking."""
    if folder is None:
        return security.parser()
    key = cache_key()
    loaded = load(folder, key)
    if loaded is not None:
        return security.install_parser(loaded)
    built = security.parser()
    save(built, folder, key)
    return built


def provide(folder: Path) -> Path | None:
    """Make sure the release ``folder`` holds this code's saved parser, so that even its first
    start reads it (``build`` calls this, and so does the benchmark for releases it reuses).

    The file is copied from another release of the same build folder when one holds a trusted
    file of this key (a rebuild costs a copy), else the parser is built (about a second) and
    saved. Returns the file, or None when ``folder`` cannot be written."""
    key = cache_key()
    target = cache_file(folder, key)
    if target.is_file():
        return target
    header = _MAGIC + key.encode() + b"\n"
    for sibling in sorted(folder.parent.iterdir()):
        handle = _open_trusted(cache_file(sibling, key)) if sibling != folder else None
        if handle is None:
            continue
        with handle:
            payload = handle.read()
        if payload.startswith(header):
            return _write(folder, target, payload)
    return save(security.parser(), folder, key)

