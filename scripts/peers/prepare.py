"""The datasets: a seeded synthetic project per scale, built by the real pipeline, each phase
timed with its own peak RSS; kept in a reuse folder so later runs skip the slow builds.

Why the real build (``ketamine_ed_kg.build.build``) and not a copy of its steps: the numbers
must be the ones a curator gets. Its progress messages mark the phases: *parse* (rdflib reads
the ontology and every graph file), *reason* (OBO additions and the materialised inferred
graph), *write* (canonical blank nodes, the release files and downloads). *Validate* is
``validate_project`` (SHACL and QC) in its own process under a time budget; *index* is what
the service does at start-up, pyoxigraph loading ``dataset.nq`` into memory. Each runs in a
fresh interpreter (:func:`measure.run_child`), so one phase's garbage is not the next one's.

The reuse folder (``--reuse DIR``) holds ``<scale>/project`` (the synthetic project and its
``build/``), ``<scale>/phases.json`` (the timings of the run that built it, with its commit)
and ``<scale>/virtuoso`` (a loaded Virtuoso database).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .measure import ROOT, peak_rss_mib, reset_peak, run_child

PHASE_OF = (("parsing", "parse"), ("adding rdfs:isDefinedBy", "reason"),
            ("materialising", "reason"), ("canonicalising", "write"), ("describing", "write"),
            ("rendering", "write"), ("writing", "write"))
"""Build progress message prefix -> phase (build.py and loading.py say these)."""


def phase_of(message: str, current: str) -> str:
    for prefix, phase in PHASE_OF:
        if message.startswith(prefix):
            return phase
    return current


@dataclass
class Phase:
    seconds: float
    peak_rss_mib: float
    done: bool = True
    note: str = ""


@dataclass
class Prepared:
    """One scale, ready: its project folder, dataset and the phases that made them."""

    label: str
    folder: Path
    triples: int
    phases: dict[str, Phase] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    commit: str = ""
    reused: bool = False

    @property
    def project(self) -> Path:
        return self.folder / "project"

    @property
    def dataset(self) -> Path:
        return self.project / "build" / "dataset.nq"

    @property
    def quads(self) -> int:
        return sum(self.counts.values())

    def save(self) -> None:
        record = {"label": self.label, "triples": self.triples, "commit": self.commit,
                  "counts": self.counts,
                  "phases": {k: asdict(v) for k, v in self.phases.items()}}
        (self.folder / "phases.json").write_text(json.dumps(record, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Prepared | None:
        path = folder / "phases.json"
        if not path.exists():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        found = cls(record["label"], folder, record["triples"],
                    {k: Phase(**v) for k, v in record["phases"].items()}, record["counts"],
                    record["commit"], reused=True)
        return found if found.dataset.exists() else None


def commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip()


# ----------------------------------------------------------------- code run in the children

def generate_child(folder: str, triples: str) -> None:
    from ketamine_ed_kg.paths import project_paths
    from ketamine_ed_kg.synthetic import generate, parse_size

    stats = generate(project_paths(ROOT), Path(folder), parse_size(triples), seed=0)
    print(json.dumps({"triples": stats.triples, "copies": stats.copies}))


def build_child(folder: str) -> None:
    """The real build, its phases timed and each phase's own peak RSS read (VmHWM, reset at
    every phase boundary)."""
    from ketamine_ed_kg.build import build
    from ketamine_ed_kg.paths import project_paths

    phases: dict[str, dict[str, float]] = {}
    state: dict[str, Any] = {"phase": "start", "since": time.perf_counter()}

    def close(now: float) -> None:
        entry = phases.setdefault(state["phase"], {"seconds": 0.0, "peak_rss_mib": 0.0})
        entry["seconds"] += now - float(state["since"])
        entry["peak_rss_mib"] = max(entry["peak_rss_mib"], peak_rss_mib())

    def progress(message: str) -> None:
        phase = phase_of(message, str(state["phase"]))
        if phase != state["phase"]:
            now = time.perf_counter()
            close(now)
            reset_peak()
            state.update(phase=phase, since=now)

    result = build(project_paths(Path(folder)), force=True, progress=progress)
    close(time.perf_counter())
    phases.pop("start", None)
    print(json.dumps({"phases": phases, "counts": result.counts}))


def validate_child(folder: str) -> None:
    from ketamine_ed_kg.paths import project_paths
    from ketamine_ed_kg.validation import validate_project

    outcome = validate_project(project_paths(Path(folder)))
    print(json.dumps({"conforms": outcome.conforms,
                      "violations": outcome.count("Violation")}))


def index_child(dataset: str) -> None:
    """What the service's zygote does at start-up: the dataset into an in-memory store."""
    import pyoxigraph as ox

    store = ox.Store()
    store.load(path=dataset, format=ox.RdfFormat.N_QUADS)
    print(json.dumps({"quads": len(store)}))


def _child(function: str, *args: str, timeout: float) -> tuple[Phase, object]:
    code = f"import sys; from peers.prepare import {function}; {function}(*sys.argv[1:])"
    run = run_child(code, list(args), timeout)
    if run.timed_out:
        return Phase(run.seconds, run.peak_rss_mib, False,
                     f"stopped at its budget of {timeout:.0f} s"), None
    if run.returncode != 0 or run.output is None:
        raise RuntimeError(f"{function}{args}: exit {run.returncode}")
    return Phase(run.seconds, run.peak_rss_mib), run.output


def _generate(label: str, triples: int, reuse: Path, say: Callable[[str], object],
              note: str) -> Prepared:
    """A fresh ``reuse/label`` (whatever was there removed) with the synthetic graph of
    ``triples`` generated into it, timed."""
    folder = reuse / label
    if folder.exists():
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    folder.mkdir(parents=True)
    prepared = Prepared(label, folder, triples, commit=commit())
    say(f"[{label}] generating {triples:,} triples{note}")
    prepared.phases["generate"], made = _child("generate_child", str(prepared.project),
                                               str(triples), timeout=3600)
    assert isinstance(made, dict)
    prepared.triples = int(made["triples"])
    return prepared


def prepare(label: str, triples: int, reuse: Path, validate_budget: float,
            log: object = print) -> Prepared:
    """The scale ``label`` in ``reuse/label``: reused when a run already built it."""
    found = Prepared.load(reuse / label)
    if found is not None:
        return found
    say = log if callable(log) else print
    prepared = _generate(label, triples, reuse, say, "")
    say(f"[{label}] building (parse, reason, write)")
    whole, built = _child("build_child", str(prepared.project), timeout=3 * 3600)
    assert isinstance(built, dict)
    for name, entry in built["phases"].items():
        prepared.phases[name] = Phase(entry["seconds"], entry["peak_rss_mib"])
    prepared.phases["build (whole)"] = whole
    prepared.counts = {k: int(v) for k, v in built["counts"].items()
                       if k.endswith("_triples")}
    say(f"[{label}] validating (budget {validate_budget:.0f} s)")
    prepared.phases["validate"], verdict = _child("validate_child", str(prepared.project),
                                                  timeout=validate_budget)
    if isinstance(verdict, dict):
        prepared.phases["validate"].note = (
            "conforms" if verdict["conforms"] else f"{verdict['violations']} violations")
    say(f"[{label}] indexing (pyoxigraph load of dataset.nq)")
    prepared.phases["index"], _ = _child("index_child", str(prepared.dataset), timeout=3600)
    prepared.save()
    return prepared


def load_only(label: str, triples: int, reuse: Path, log: object = print) -> Prepared:
    """A scale too large to build here: the synthetic graph generated and written as one
    N-Quads file in the asserted graph (no inferred graph), for the stores' load alone."""
    found = Prepared.load(reuse / label)
    if found is not None:
        return found
    say = log if callable(log) else print
    prepared = _generate(label, triples, reuse, say, " (load only)")
    prepared.phases["write"], written = _child("quads_child", str(prepared.project),
                                               timeout=3600)
    assert isinstance(written, dict)
    prepared.counts = {"asserted_triples": int(written["quads"])}
    prepared.phases["index"], _ = _child("index_child", str(prepared.dataset), timeout=3600)
    prepared.save()
    return prepared


def quads_child(folder: str) -> None:
    """The ontology and graph files of a project as quads of the asserted graph (the load-only
    dataset): pyoxigraph parses and writes them, no rdflib, no inference."""
    import pyoxigraph as ox

    from ketamine_ed_kg.namespaces import GRAPH_ASSERTED
    from ketamine_ed_kg.paths import project_paths

    paths = project_paths(Path(folder))
    target = paths.build_dir / "dataset.nq"
    target.parent.mkdir(parents=True, exist_ok=True)
    graph = ox.NamedNode(str(GRAPH_ASSERTED))
    count = 0
    with target.open("wb") as out:
        for path in [paths.ontology_file, *paths.graph_files()]:
            quads = [ox.Quad(t.subject, t.predicate, t.object, graph)
                     for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
            count += len(quads)
            ox.serialize(quads, out, format=ox.RdfFormat.N_QUADS)
    print(json.dumps({"quads": count}))


if __name__ == "__main__":  # pragma: no cover - for trying one scale by hand
    reuse_dir, scale = Path(sys.argv[1]), sys.argv[2]
    sys.path.insert(0, str(ROOT / "src"))
    from ketamine_ed_kg.synthetic import parse_size

    print(prepare(scale, parse_size(scale), reuse_dir, float(sys.argv[3])))
