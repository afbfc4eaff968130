"""Downloads of the whole dataset, at stable URLs: ``/download/ketamine-ed-kg.<ext>`` for every
RDF format of the format table, each with ``.gz`` and ``.sha256`` beside it, and the JSON-LD
``context.jsonld``.

A release made by ``ketamine-ed-kg build`` holds them as files (``downloads.py``: written from
the canonical quads, so they are byte-reproducible and their checksums hold whichever process
serves them); they are sent as they are. A dataset that is not part of a release (an operator's
own N-Quads file) has no such files: its dumps are written by a query process on request, and
it has no ``.gz`` or ``.sha256``. ETag and Last-Modified follow the graph version either way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response

from ..downloads import (
    CHECKSUM_SUFFIX,
    CONTEXT_FILE,
    DOWNLOAD_DIR,
    GZIP_SUFFIX,
    STEM,
    download_name,
)
from ..errors import DeadlineExceeded, Overloaded
from ..formats import RDF_FORMATS, Format
from ..store import Job, JobKind
from .errors import ApiError
from .http import conditional, make_etag, versioned
from .state import state
from .urls import advertised_url

bp = Blueprint("dumps", __name__)

DUMP_EXTENSIONS: dict[str, Format] = {ext: fmt for fmt in RDF_FORMATS for ext in fmt.extensions}
"""Every dump's file extension and its format."""
DUMP_DEADLINE_FACTOR = 10
"""Dumps written on request are big but cheap: they may take this many query deadlines."""
CHUNK = 256 * 1024


def dump_urls() -> list[str]:
    """The advertised URL of every dump."""
    return [advertised_url(f"/download/{STEM}.{ext}") for ext in DUMP_EXTENSIONS]


def _release_file(name: str) -> Path | None:
    """``name`` in the served release's download folder, if the release has one."""
    path = state().config.dataset_path().parent / DOWNLOAD_DIR / name
    return path if path.is_file() else None


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@bp.route("/download/")
def index() -> Response:
    """Plain list of the dump URLs, with their media types (and their .gz and .sha256)."""
    lines = []
    for url, fmt in zip(dump_urls(), DUMP_EXTENSIONS.values(), strict=True):
        lines.append(f"{url}\t{fmt.media_type}")
        if _release_file(download_name(fmt) + GZIP_SUFFIX) is not None:
            lines += [f"{url}{GZIP_SUFFIX}\tapplication/gzip",
                      f"{url}{CHECKSUM_SUFFIX}\ttext/plain"]
    if _release_file(CONTEXT_FILE) is not None:
        lines.append(f"{advertised_url('/download/' + CONTEXT_FILE)}\tapplication/ld+json")
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@bp.route("/download/<name>")
def download(name: str) -> Response:
    """One download: a release file as it is, or a dump written on request."""
    st = state()
    stem, _, rest = name.partition(".")
    ext, _, suffix = rest.partition(".")
    fmt = DUMP_EXTENSIONS.get(ext) if stem == STEM else None
    if name == CONTEXT_FILE:
        file, media = _release_file(name), "application/ld+json; charset=utf-8"
    elif fmt is not None and suffix in ("", GZIP_SUFFIX[1:], CHECKSUM_SUFFIX[1:]):
        file = _release_file(download_name(fmt) + (f".{suffix}" if suffix else ""))
        media = {"": fmt.content_type, "gz": "application/gzip",
                 "sha256": "text/plain; charset=utf-8"}[suffix]
    else:
        raise ApiError(404, f"no download named {name}; see {advertised_url('/download/')}")
    etag = make_etag(st.version.tag, "download", name)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    if file is not None:
        response = Response(_chunks(file), content_type=media)
        response.headers["Content-Length"] = str(file.stat().st_size)
    elif fmt is not None and not suffix:
        response = _written_on_request(fmt)
    else:
        raise ApiError(404, f"{name} exists only for a release made by ketamine-ed-kg build")
    if suffix == "gz":
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return versioned(response, etag, st.version.modified)


@bp.route("/ontology/releases/<release>/ketamine-ed.owl")
def ontology_release(release: str) -> Response:
    """The ontology's ``owl:versionIRI`` (``.../ontology/releases/<date>/ketamine-ed.owl``),
    dereferenced: the release's RDF/XML file (ontology and data), as Protégé opens it, when
    the served version is that release."""
    st = state()
    if not st.version.version.startswith(release + "+"):
        raise ApiError(404, f"this service serves version {st.version.version}, not "
                            f"{release}; its ontology is at "
                            f"{advertised_url('/ontology/releases/')}"
                            f"{st.version.version.split('+')[0]}/ketamine-ed.owl")
    file = st.config.dataset_path().parent / f"{STEM}.owl"
    if not file.is_file():
        raise ApiError(404, "this dataset is not a release made by ketamine-ed-kg build")
    etag = make_etag(st.version.tag, "ontology-release", release)
    cached = conditional(etag, st.version.modified)
    if cached is not None:
        return cached
    response = Response(_chunks(file), content_type=Format.RDFXML.content_type)
    response.headers["Content-Length"] = str(file.stat().st_size)
    return versioned(response, etag, st.version.modified)


def _written_on_request(fmt: Format) -> Response:
    st = state()
    seconds = st.config.deadline * DUMP_DEADLINE_FACTOR
    try:
        result = st.service.run(Job(JobKind.DUMP, rdf_format=fmt), time.monotonic() + seconds)
    except (DeadlineExceeded, Overloaded):
        raise ApiError(503, "the dump could not be produced in time; retry later",
                       {"Retry-After": "10"}) from None
    response = Response(result.body, content_type=fmt.content_type)
    response.call_on_close(result.close)
    return response


__all__ = ["DUMP_EXTENSIONS", "STEM", "bp", "dump_urls"]
