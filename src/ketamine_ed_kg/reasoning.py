"""Checking the ontology (and the curated graph) with the HermiT OWL 2 DL reasoner.

Why HermiT: the ontology's domains, ranges, functional properties and disjointness axioms are
there so that a reasoner can prove a curation mistake, for example a diagnosis instance that is
also typed as a drug substance. Only a complete OWL 2 DL reasoner finds every such
contradiction; the small closure in :mod:`ketamine_ed_kg.inference` only adds triples.

How: the RDF is parsed by :mod:`ketamine_ed_kg.loading` (so parse errors name the file and
line, as in every other stage), written to N-Triples in a temporary folder, loaded into a fresh
owlready2 ``World`` and handed to the HermiT jar that ships with owlready2. HermiT needs a Java
runtime.

Why HermiT's default settings: every datatype the ontology and the graph use in a range or a
data-property assertion is in the OWL 2 datatype map (years are ``xsd:integer``, quotes
``rdf:PlainLiteral``), so HermiT checks every literal, as it does in Protégé, and a literal of the
wrong type (a ``2.9e1`` where ``xsd:decimal`` is required) is a contradiction. Running without
``--ignoreUnsupportedDatatypes`` keeps it that way: a datatype outside the map makes HermiT stop
with an error instead of silently treating the values as opaque.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
from rdflib import Graph

from .errors import DataError, InconsistentOntologyError, ReasonerUnavailableError
from .loading import Progress, load_sources, new_graph, quiet
from .namespaces import PREFIXES
from .paths import ProjectPaths

_INFERENCES_IRI = "http://inferrences/"
"""The ontology owlready2 puts HermiT's conclusions in (owlready2's own spelling)."""

_RDFS_SUBCLASS_OF = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
_OWL_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"


@dataclass(frozen=True)
class ReasoningResult:
    """What HermiT concluded about one input.

    ``inferred_subclasses`` holds the direct ``(subclass, superclass)`` pairs (IRIs) that HermiT
    derived and nobody asserted; it is empty when the input is inconsistent, because an
    inconsistent ontology entails everything and HermiT does not classify it.
    """

    consistent: bool
    unsatisfiable: tuple[str, ...]
    inferred_subclasses: tuple[tuple[str, str], ...]
    triples: int
    included_data: bool
    timings: dict[str, float] = field(default_factory=dict)
    ontology_file: str = "the ontology"
    """Where the class axioms live, as the error message names it (:func:`reason` gives the
    ontology file's path in the checkout)."""

    @property
    def ok(self) -> bool:
        """True when the input is consistent and every named class can have instances."""
        return self.consistent and not self.unsatisfiable

    def raise_for_problems(self) -> None:
        """Raise :class:`InconsistentOntologyError` unless :attr:`ok`."""
        what = "ontology and curated graph" if self.included_data else "ontology"
        if not self.consistent:
            raise InconsistentOntologyError(
                f"HermiT found the {what} inconsistent: some individual belongs to disjoint "
                "classes, breaks a functional property or has a value outside a range; "
                "`ketamine-ed-kg reason` lists the files, nodes and axioms involved (run "
                "`ketamine-ed-kg validate` too: SHACL may name the node faster)"
            )
        if self.unsatisfiable:
            raise InconsistentOntologyError(
                f"HermiT found {len(self.unsatisfiable)} unsatisfiable class(es) in the {what}: "
                + ", ".join(self.unsatisfiable)
                + "; check their rdfs:subClassOf and owl:disjointWith axioms in "
                + self.ontology_file
            )


def java_executable() -> str:
    """The Java runtime HermiT will use, or :class:`ReasonerUnavailableError`."""
    java = shutil.which(str(owlready2.JAVA_EXE))
    if java is None:
        raise ReasonerUnavailableError(
            f"Java runtime not found (looked for {owlready2.JAVA_EXE!r} on PATH): HermiT needs "
            "Java 11 or later; install it (e.g. `apt-get install default-jre-headless`) or set "
            "owlready2.JAVA_EXE to the java executable"
        )
    return java


def _new_subclass_axioms(world: owlready2.World) -> list[tuple[str, str]]:
    """Subclass axioms owlready2 recorded from HermiT's classification (none were asserted)."""
    inferred = world.get_ontology(_INFERENCES_IRI)
    subclass_of = world._abbreviate(_RDFS_SUBCLASS_OF)
    pairs: list[tuple[str, str]] = []
    for s, _p, o in inferred.get_triples(None, subclass_of, None):
        if not (isinstance(s, int) and isinstance(o, int)) or s < 0 or o < 0:
            continue  # blank nodes (anonymous class expressions) are not hierarchy edges
        sub, sup = world._unabbreviate(s), world._unabbreviate(o)
        if sup != _OWL_NOTHING:
            pairs.append((sub, sup))
    return sorted(pairs)


def reason_graph(
    graph: Graph,
    *,
    included_data: bool,
    progress: Progress = quiet,
    ontology_file: str = "the ontology",
) -> ReasoningResult:
    """Run HermiT on ``graph`` (ontology, possibly merged with data) and report the outcome.

    Raises :class:`ReasonerUnavailableError` when Java is missing and :class:`DataError` when
    HermiT rejects the input for another reason (its message is passed on).
    """
    java = java_executable()
    owlready2.JAVA_EXE = java
    timings: dict[str, float] = {}
    start = time.perf_counter()
    world = owlready2.World()
    try:
        with tempfile.TemporaryDirectory(prefix="ketamine-ed-reason-") as tmp:
            nt_path = Path(tmp) / "input.nt"
            t0 = time.perf_counter()
            graph.serialize(nt_path, format="nt", encoding="utf-8")
            timings["serialise"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            world.get_ontology(nt_path.as_uri()).load()
            timings["load"] = time.perf_counter() - t0

            progress(f"running HermiT on {len(graph)} triples (starts a Java VM, takes a few "
                     "seconds)")
            t0 = time.perf_counter()
            consistent = True
            try:
                with _owlready2_temp_files_in(tmp):
                    owlready2.sync_reasoner_hermit(world, debug=0)
            except owlready2.OwlReadyInconsistentOntologyError:
                consistent = False
            except owlready2.OwlReadyJavaError as exc:
                raise DataError(f"HermiT rejected the input: {str(exc).strip()[:2000]}") from exc
            timings["hermit"] = time.perf_counter() - t0

        if consistent:
            unsatisfiable = tuple(
                sorted(c.iri for c in world.inconsistent_classes() if c.iri != _OWL_NOTHING)
            )
            inferred = tuple(_new_subclass_axioms(world))
        else:
            unsatisfiable, inferred = (), ()
    finally:
        world.close()
    timings["total"] = time.perf_counter() - start
    return ReasoningResult(
        consistent=consistent,
        unsatisfiable=unsatisfiable,
        inferred_subclasses=inferred,
        triples=len(graph),
        included_data=included_data,
        timings=timings,
        ontology_file=ontology_file,
    )


@contextlib.contextmanager
def _owlready2_temp_files_in(folder: str) -> Iterator[None]:
    """Make owlready2 write HermiT's input file into ``folder`` (removed with it).

    owlready2 writes the world to a ``tempfile.NamedTemporaryFile(delete=False)`` for HermiT
    and unlinks it only when HermiT succeeds: an inconsistent ontology or a Java error left a
    file of up to a megabyte in /tmp each time. It has no option for the folder, so the
    ``tempfile`` default is pointed at ours for the call (reasoning runs one at a time).
    """
    before = tempfile.tempdir
    tempfile.tempdir = folder
    try:
        yield
    finally:
        tempfile.tempdir = before


def reason(
    paths: ProjectPaths, *, include_data: bool = True, progress: Progress = quiet
) -> ReasoningResult:
    """Run HermiT on the ontology, and on every ``graph/**/*.ttl`` file unless told not to."""
    ontology, data = load_sources(paths, progress)
    merged = new_graph()
    merged += ontology
    if include_data:
        merged += data
    return reason_graph(merged, included_data=include_data, progress=progress,
                        ontology_file=str(paths.ontology_file.relative_to(paths.root)))


def _curie(iri: str) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return f"<{iri}>"


def render_text(result: ReasoningResult) -> str:
    """A report for people: consistency, unsatisfiable classes, new subclass axioms, timings.

    The inferred hierarchy is printed as a tree under each superclass, so a curator sees at a
    glance which classes HermiT moved.
    """
    what = "ontology + curated graph" if result.included_data else "ontology only"
    lines = [f"HermiT on the {what} ({result.triples} triples)"]
    lines.append(f"  consistent: {'yes' if result.consistent else 'NO'}")
    if result.unsatisfiable:
        lines.append(f"  unsatisfiable classes ({len(result.unsatisfiable)}):")
        lines += [f"    {_curie(c)}" for c in result.unsatisfiable]
    else:
        lines.append("  unsatisfiable classes: none")
    if not result.consistent:
        lines.append(
            "  inferred hierarchy: not computed (an inconsistent ontology entails everything)"
        )
    elif result.inferred_subclasses:
        count = len(result.inferred_subclasses)
        lines.append(f"  inferred subclass axioms not asserted ({count}):")
        by_super: dict[str, list[str]] = {}
        for sub, sup in result.inferred_subclasses:
            by_super.setdefault(sup, []).append(sub)
        for sup in sorted(by_super):
            lines.append(f"    {_curie(sup)}")
            lines += [f"      ⊒ {_curie(sub)}" for sub in sorted(by_super[sup])]
    else:
        lines.append("  inferred subclass axioms not asserted: none")
    timing = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    lines.append(f"  timings: {timing}")
    return "\n".join(lines) + "\n"


__all__ = ["ReasoningResult", "java_executable", "reason", "reason_graph", "render_text"]
