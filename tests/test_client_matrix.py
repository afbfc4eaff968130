"""The real-client matrix (#10, part 5): every client x query form x return format x method,
against the gunicorn-served endpoint on 127.0.0.1, one test per cell.

The cells are in ``client_matrix_support`` (``scripts/client_matrix.py`` runs the same ones and
writes docs/clients.md). A cell that fails because of a known client bug is xfail(strict=True)
with the reason, and only for a wrong answer (AssertionError): a crash, or a right answer, fails
the test. No cell is xfail because of the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client_matrix_support import (
    Cell,
    Context,
    check,
    fingerprint,
    matrix_cells,
    write_matrix_dataset,
)
from support.server import gunicorn_server

CELLS = matrix_cells()
DOC = Path(__file__).resolve().parent.parent / "docs" / "clients.md"


def _param(cell: Cell) -> object:
    marks = ([pytest.mark.xfail(strict=True, raises=AssertionError,
                                reason=f"client bug: {cell.known_client_bug}")]
             if cell.known_client_bug else [])
    return pytest.param(cell, id=cell.id, marks=marks)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("client-matrix")
    dataset = write_matrix_dataset(root / "dataset.nq")
    with gunicorn_server(dataset, root / "gunicorn.log") as server:
        yield server.endpoint


def test_the_matrix_is_whole() -> None:
    ids = [cell.id for cell in CELLS]
    assert len(ids) == len(set(ids))
    clients = {cell.client for cell in CELLS}
    assert {"SPARQLWrapper", "SPARQLWrapper onlyConneg", "rdflib SPARQLStore", "Jena rsparql",
            "Comunica (auto-detected)", "Comunica (sparql@ hint)",
            "pandas read_csv"} == clients
    for client in clients - {"pandas read_csv"}:
        assert {c.form for c in CELLS if c.client == client} == {
            "SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


def test_docs_measured_these_cells() -> None:
    assert f"Matrix fingerprint `{fingerprint(CELLS)}`" in DOC.read_text(encoding="utf-8"), (
        "the cells changed since docs/clients.md was measured: "
        "run .venv/bin/python scripts/client_matrix.py")


@pytest.mark.parametrize("cell", [_param(c) for c in CELLS])
def test_client_cell(endpoint: str, cell: Cell, tmp_path: Path) -> None:
    check(cell, cell.run(Context(endpoint, tmp_path)))
