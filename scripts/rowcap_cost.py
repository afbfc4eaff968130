#!/usr/bin/env python
"""What the row cap costs a query process, in process (no HTTP): raw pyoxigraph (``LIMIT cap``,
JSON) against the cap's two ways of knowing whether rows were cut — the probe (``LIMIT cap``,
then ``LIMIT 1 OFFSET cap`` when the row bound reached the cap: a second evaluation) and the
single evaluation with lookahead (``LIMIT cap+1``, cut on TSV lines, written as JSON).

Usage: ``python scripts/rowcap_cost.py DATASET.nq [--rounds N] [--cap C]``, e.g. on a release of
``ketamine-ed-kg synth DIR --triples 100k`` + ``ketamine-ed-kg --root DIR build``. Prints a
Markdown table of medians (ms; ratio to raw). Engines interleaved round by round.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ketamine_ed_kg.formats import Format
from ketamine_ed_kg.store.rowcap import RowBound, capped_body

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

K = "https://w3id.org/ketamine-ed/ontology/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SUB = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
QUERIES = {
    "labels (cut)": f"SELECT ?s ?l WHERE {{ ?s <{LABEL}> ?l }}",
    "labels ORDER BY (cut)": f"SELECT ?s ?l WHERE {{ ?s <{LABEL}> ?l }} ORDER BY ?l",
    "types+labels join (cut)": f"SELECT ?s ?c ?l WHERE {{ ?s a ?c ; <{LABEL}> ?l }}",
    "subclass path + OPTIONAL (cut)": f"SELECT ?s ?c ?l WHERE {{ ?s a ?c . ?c <{SUB}>* ?top "
                                      f"OPTIONAL {{ ?s <{LABEL}> ?l }} }}",
    "text filter (cut)": f"SELECT ?s ?l WHERE {{ ?s <{LABEL}> ?l "
                         f"FILTER(CONTAINS(LCASE(STR(?l)), \"a\")) }}",
    "quotes (below the cap at 100k)": f"SELECT ?s ?q WHERE {{ ?s <{K}quote> ?q }}",
}


class _Counted(io.RawIOBase):
    def __init__(self, bound: RowBound) -> None:
        super().__init__()
        self.bound = bound
        self.out = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        chunk = bytes(data)
        self.bound.feed(chunk)
        return self.out.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--cap", type=int, default=10000)
    args = parser.parse_args()
    store = ox.Store()
    store.load(path=args.dataset, format=ox.RdfFormat.N_QUADS)
    cap: int = args.cap

    def run(text: str) -> ox.QuerySolutions:
        results = store.query(text, use_default_graph_as_union=True)
        assert isinstance(results, ox.QuerySolutions)
        return results

    def raw(q: str) -> None:
        run(f"{q} LIMIT {cap}").serialize(io.BytesIO(), format=Format.JSON.results)

    def probe(q: str) -> None:
        bound = RowBound(Format.JSON)
        sink: Any = _Counted(bound)
        run(f"{q} LIMIT {cap}").serialize(sink, format=Format.JSON.results)
        if bound.bound() >= cap:
            any(True for _ in run(f"{q} LIMIT 1 OFFSET {cap}"))

    def lookahead(q: str) -> None:
        capped_body(run(f"{q} LIMIT {cap + 1}"), cap, Format.JSON)

    ways: list[Callable[[str], None]] = [raw, probe, lookahead]
    print("| query | rows | raw | probe | lookahead (once) |\n|---|---:|---:|---:|---:|")
    for name, q in QUERIES.items():
        rows = sum(1 for _ in run(f"{q} LIMIT {cap + 1}"))
        times: dict[str, list[float]] = {way.__name__: [] for way in ways}
        for _ in range(args.rounds):
            for way in ways:
                started = time.perf_counter()
                way(q)
                times[way.__name__].append((time.perf_counter() - started) * 1000)
        med = {k: statistics.median(v) for k, v in times.items()}
        cells = [f"{med['raw']:.1f}"] + [f"{med[k]:.1f} ({med[k] / med['raw']:.2f}x)"
                                         for k in ("probe", "lookahead")]
        shown = f"{cap}, cut" if rows > cap else str(rows)
        print(f"| {name} | {shown} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
