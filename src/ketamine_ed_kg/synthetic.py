"""A seeded synthetic graph shaped like the curated one, for benchmarks at scale.

Why copies of our own studies rather than random triples: a benchmark must run *our* example
queries on *our* ontology and stay valid against *our* shapes, or its numbers say nothing about
this service. So every curated study file (``graph/studies/*.ttl``) becomes a template: its
nodes (the study, groups, diagnoses typed in the class hierarchy, regimens with titration
steps, outcomes, claims with quotes) are minted anew per copy under ``ked:syn<n>-…``, while
what studies share (sources, publications, substances, ontology terms) stays shared, as it is
in the curated graph. A seeded random generator picks the template of each copy and scales its
doses and sample sizes, so value filters select a realistic spread; labels get the copy number
so no two nodes share one. Quotes stay verbatim: they are the sources' words.

The output is a project folder (ontology, shapes, queries and the curated graph copied, the
copies written as N-Triples lines in ``graph/synthetic/*.ttl``, which is valid Turtle) that
``ketamine-ed-kg --root DIR build`` and ``serve`` take unchanged. Same seed and size, same bytes.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

from .errors import KedError
from .iris import PREFIXES
from .loading import parse_file
from .paths import ProjectPaths

RESOURCE = PREFIXES["ked"]
KEDO = PREFIXES["kedo"]
LABEL = PREFIXES["rdfs"] + "label"
SCALED = frozenset({KEDO + "doseValue", KEDO + "sampleSize"})
"""Values a copy scales: the dose and group size filters of the example queries select on them."""
FACTORS = (Decimal("0.5"), Decimal("0.75"), Decimal("1"), Decimal("1.25"), Decimal("1.5"),
           Decimal("2"))
CHUNK = 200_000
"""Triples per output file: small enough for a curator's editor, few enough files to list."""
MARK = "\x00"
"""Stands for a copy's prefix in a template line; it cannot occur in an N-Triples line."""

_ASSERTS = KEDO + "assertsProperty"


@dataclass(frozen=True)
class Template:
    """One study file as N-Triples lines with the copy prefix left open.

    ``lines`` are finished but for :data:`MARK`; ``scaled`` are (line head, value, datatype)
    for the literals a copy scales; ``labels`` are (line head, lexical form, language)."""

    slug: str
    lines: tuple[str, ...]
    scaled: tuple[tuple[str, Decimal, str], ...]
    labels: tuple[tuple[str, str, str | None], ...]

    @property
    def size(self) -> int:
        return len(self.lines) + len(self.scaled) + len(self.labels)


@dataclass
class SyntheticStats:
    """What :func:`generate` wrote."""

    folder: Path
    triples: int
    copies: int
    seed: int
    files: list[Path] = field(default_factory=list)
    per_template: dict[str, int] = field(default_factory=dict)


def _term(node: Node, local: frozenset[str]) -> str:
    """N-Triples for ``node``; a node of the study itself gets the copy's prefix."""
    if isinstance(node, URIRef) and str(node) in local:
        return f"<{RESOURCE}{MARK}{str(node)[len(RESOURCE):]}>"
    if isinstance(node, BNode):
        return f"_:{MARK}{node}"
    return node.n3()


def load_template(path: Path) -> Template:
    """Read one study file into a :class:`Template`.

    The study's own nodes are the ``ked:`` IRIs the file describes whose name starts with the
    file's (``ked:keeler-2021-…`` in ``keeler-2021.ttl``, the naming rule of CONTRIBUTING.md);
    anything else it links to is shared and kept, and what it says of shared nodes is left to
    the curated graph, which the output holds once. A value a claim asserts
    (``kedo:assertsProperty``) is not scaled, so a claim and the fact it backs never disagree
    within a copy."""
    # Canonical blank-node labels: a parse labels them at random, and the output must be the
    # same bytes for the same seed.
    graph = to_canonical_graph(parse_file(path))
    own = RESOURCE + path.stem
    local = frozenset(str(s) for s in graph.subjects()
                      if isinstance(s, URIRef) and str(s).startswith(own))
    asserted = {str(o) for o in graph.objects(None, URIRef(_ASSERTS))}
    lines: list[str] = []
    scaled: list[tuple[str, Decimal, str]] = []
    labels: list[tuple[str, str, str | None]] = []
    for s, p, o in sorted(graph):
        if isinstance(s, URIRef) and str(s) not in local:
            continue  # a shared node the file also describes: already in the curated graph
        head = f"{_term(s, local)} {_term(p, local)} "
        if (str(p) in SCALED and str(p) not in asserted and isinstance(o, Literal)
                and o.datatype is not None):
            scaled.append((head, Decimal(str(o)), str(o.datatype)))
        elif str(p) == LABEL and isinstance(o, Literal) and str(s) in local:
            labels.append((head, str(o), o.language))
        else:
            lines.append(f"{head}{_term(o, local)} .")
    return Template(path.stem, tuple(lines), tuple(scaled), tuple(labels))


def _copy(template: Template, number: int, rng: random.Random) -> Iterator[str]:
    """The lines of copy ``number`` of ``template``."""
    prefix = f"syn{number:07d}-"
    factor = rng.choice(FACTORS)
    for line in template.lines:
        yield line.replace(MARK, prefix)
    for head, value, datatype in template.scaled:
        scaled = value * factor
        text = (str(max(1, int(scaled.to_integral_value()))) if "integer" in datatype.lower()
                else format(scaled.normalize(), "f"))
        yield f"{head.replace(MARK, prefix)}{Literal(text, datatype=URIRef(datatype)).n3()} ."
    for head, text, lang in template.labels:
        label = Literal(f"{text} [synthetic copy {number}]", lang=lang)
        yield f"{head.replace(MARK, prefix)}{label.n3()} ."


_IGNORED = shutil.ignore_patterns("node_modules", "__pycache__", ".*")


def _prepare(paths: ProjectPaths, folder: Path) -> None:
    """Copy what a build reads (ontology, shapes, queries, the curated graph) into ``folder``."""
    if folder.exists() and any(folder.iterdir()):
        raise KedError(f"{folder}: not empty; pick a new folder for the synthetic graph")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ontology", "graph", "shapes", "queries"):
        shutil.copytree(paths.root / name, folder / name, ignore=_IGNORED)


def generate(paths: ProjectPaths, folder: Path, triples: int, seed: int = 0) -> SyntheticStats:
    """Write a project folder whose graph has about ``triples`` asserted triples.

    The curated graph is included once; copies of its studies are added until the count is
    reached (the last copy is whole, so the total may pass ``triples`` by one study)."""
    _prepare(paths, folder)
    templates = [load_template(p) for p in sorted((paths.graph_dir / "studies").glob("*.ttl"))]
    if not templates:
        raise KedError(f"{paths.graph_dir / 'studies'}: no study files to copy")
    base = sum(len(parse_file(p)) for p in paths.graph_files())
    out_dir = folder / "graph" / "synthetic"
    out_dir.mkdir()
    rng = random.Random(seed)
    stats = SyntheticStats(folder, base, 0, seed)
    handle = None
    in_file = CHUNK
    try:
        while stats.triples < triples:
            template = rng.choice(templates)
            if in_file >= CHUNK:
                if handle is not None:
                    handle.close()
                path = out_dir / f"part-{len(stats.files):04d}.ttl"
                stats.files.append(path)
                handle = path.open("w", encoding="utf-8")
                in_file = 0
            assert handle is not None
            for line in _copy(template, stats.copies, rng):
                handle.write(line)
                handle.write("\n")
            stats.copies += 1
            stats.triples += template.size
            in_file += template.size
            stats.per_template[template.slug] = stats.per_template.get(template.slug, 0) + 1
    finally:
        if handle is not None:
            handle.close()
    return stats


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


def parse_size(text: str) -> int:
    """``10k``, ``1M``, ``5m`` or a plain number of triples."""
    match = _SIZE.match(text.strip())
    if not match:
        raise KedError(f"{text!r}: give a number of triples such as 100000, 100k or 1M")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(Decimal(match.group(1)) * scale)


__all__ = ["SyntheticStats", "Template", "generate", "load_template", "parse_size"]
