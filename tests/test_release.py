"""Releases: byte-reproducible builds, the atomic switch of ``build/current``, version pinning
(``resolve_release``, ``serve``), the ETag as the digest of the served data, and pruning.

Most tests build a tiny checkout (an ontology with OWL blank-node structure and one study with
a structured value) so that a build takes milliseconds; the reproducibility test compares the
session's build of the project's real sources with a build in another process with another
hash seed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ketamine_ed_kg import release as rel
from ketamine_ed_kg.build import (
    DATASET_GRAPHS,
    EXAMPLES_LABEL_PREFIX,
    RELEASE_FILES,
    SERVICE_LABEL_PREFIX,
    VOID_LABEL_PREFIX,
    build,
    dataset_file,
)
from ketamine_ed_kg.cli import cli
from ketamine_ed_kg.config import ServiceConfig, load_config
from ketamine_ed_kg.errors import BuildMissingError
from ketamine_ed_kg.paths import ProjectPaths, project_paths
from ketamine_ed_kg.release import (
    DATASET_FILE,
    KEEP_RELEASES,
    MANIFEST_FILE,
    dataset_version,
    hold_release,
    prune_releases,
    read_manifest,
    release_digest,
    resolve_release,
)
from support.project import BuiltDataset, copy_checkout

ONTOLOGY = """\
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .
<https://w3id.org/ketamine-ed/ontology> a owl:Ontology ; owl:versionInfo "test" .
kedo:Study a owl:Class .
kedo:HumanStudy a owl:Class ; rdfs:subClassOf kedo:Study .
kedo:A a owl:Class . kedo:B a owl:Class .
kedo:AorB a owl:Class ; owl:unionOf ( kedo:A kedo:B ) .
[] a owl:AllDisjointClasses ; owl:members ( kedo:A kedo:B kedo:Study ) .
"""


def study(n: int) -> str:
    return ("@prefix ked: <https://w3id.org/ketamine-ed/resource/> .\n"
            "@prefix kedo: <https://w3id.org/ketamine-ed/ontology/> .\n"
            "ked:study-1 a kedo:HumanStudy ;\n"
            f"  kedo:followUpDuration [ kedo:minValue 1 ; kedo:maxValue {n} ] .\n")


def tiny_checkout(root: Path, n: int = 1) -> ProjectPaths:
    (root / "ontology").mkdir(parents=True)
    (root / "ontology" / "ketamine-ed.ttl").write_text(ONTOLOGY, encoding="utf-8")
    set_study(project_paths(root), n)
    return project_paths(root)


def set_study(checkout: ProjectPaths, n: int) -> None:
    target = checkout.graph_dir / "studies" / "study-1.ttl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(study(n), encoding="utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(build_dir: Path) -> None:
    """What a server or a reader of ``build/`` sees belongs to one complete release."""
    current = resolve_release(build_dir)
    manifest = read_manifest(current)
    assert manifest is not None
    assert manifest["release"] == current.name
    for name in manifest["files"]:
        assert sha256(current / name) == manifest["sha256"][name], name
    assert manifest["digest"] == sha256(current / DATASET_FILE)
    assert release_digest(manifest["sha256"]) == current.name
    # The pre-release paths go through current, so they agree with it and with each other.
    top = read_manifest(build_dir)
    assert top == manifest
    assert sha256(build_dir / DATASET_FILE) == manifest["digest"]
    assert dataset_version(build_dir / DATASET_FILE).tag == manifest["digest"][:32]


@pytest.fixture()
def tiny(tmp_path: Path) -> ProjectPaths:
    return tiny_checkout(tmp_path / "checkout")


# --- reproducibility -------------------------------------------------------------------------

BUILD_IN_CHILD = """
import sys
from pathlib import Path
from ketamine_ed_kg.build import build
from ketamine_ed_kg.paths import project_paths
print(build(project_paths(Path(sys.argv[1]))).release)
"""


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KETAMINE_ED_KG_") and k != "SOURCE_DATE_EPOCH"}
    env.update(extra)
    return env


def other_seed() -> str:
    """A hash seed other than this process's (random unless PYTHONHASHSEED is set)."""
    mine = os.environ.get("PYTHONHASHSEED", "")
    return str(int(mine) + 1) if mine.isdigit() else "1"


@pytest.mark.rebuild
def test_two_builds_of_the_same_sources_give_identical_bytes(
    tmp_path: Path, sources: ProjectPaths, built_dataset: BuiltDataset,
) -> None:
    """The real sources, built in this process (the session's build) and in another process
    with another hash seed (set iteration order differs), give the same bytes in every release
    file."""
    first = built_dataset.result
    other = copy_checkout(sources, tmp_path / "other")
    child = subprocess.run(
        [sys.executable, "-c", BUILD_IN_CHILD, str(other.root)], capture_output=True,
        text=True, env=child_env(PYTHONHASHSEED=other_seed()), check=False)
    assert child.returncode == 0, child.stderr
    second = Path(child.stdout.strip().splitlines()[-1])
    assert first.release.name == second.name
    for name in RELEASE_FILES:
        assert (first.release / name).read_bytes() == (second / name).read_bytes(), name
    one, two = read_manifest(first.release), read_manifest(second)
    assert one is not None and two is not None
    assert {k: v for k, v in one.items() if k != "built"} == \
        {k: v for k, v in two.items() if k != "built"}
    # The test means something only if there are blank nodes to label.
    assert b"_:c14n" in (first.release / DATASET_FILE).read_bytes()
    # A forced rebuild reuses the release, keeping its manifest (and its build time).
    again = build(other, force=True)
    assert again.rebuilt and again.release == second
    assert read_manifest(second) == two


def test_blank_nodes_get_canonical_labels_and_the_build_time_stays_out_of_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    one = build(tiny_checkout(tmp_path / "a"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    two = build(tiny_checkout(tmp_path / "b"))
    assert one.release.name == two.release.name and one.digest == two.digest
    for name in (*RELEASE_FILES, MANIFEST_FILE):
        same = (one.release / name).read_bytes() == (two.release / name).read_bytes()
        assert same == (name != MANIFEST_FILE), name
    manifest = read_manifest(one.release)
    assert manifest is not None and manifest["built"] == "1970-01-01T00:00:00Z"
    nquads = (one.release / DATASET_FILE).read_text(encoding="utf-8")
    labels = {word for line in nquads.splitlines() for word in line.split()
              if word.startswith("_:")}
    # RDFC-1.0 labels; the discovery graphs' are prefixed so they never clash with the data's.
    prefixes = ("", EXAMPLES_LABEL_PREFIX, SERVICE_LABEL_PREFIX, VOID_LABEL_PREFIX)
    assert labels and all(any(label.startswith(f"_:{p}c14n") for p in prefixes)
                          for label in labels)
    assert nquads.splitlines() == sorted(nquads.splitlines())


# --- layout and the atomic switch ------------------------------------------------------------

def test_a_build_writes_a_versioned_release_and_points_current_at_it(tiny: ProjectPaths) -> None:
    result = build(tiny)
    build_dir = tiny.build_dir
    current = build_dir / rel.CURRENT_LINK
    assert current.is_symlink()
    assert os.readlink(current) == f"releases/{result.release.name}"
    assert result.release == resolve_release(build_dir)
    assert result.release.parent == build_dir / "releases" and not result.release.is_symlink()
    assert result.digest == sha256(result.release / DATASET_FILE)
    for name in (*RELEASE_FILES, MANIFEST_FILE):
        assert (build_dir / name).is_symlink(), name
        assert (build_dir / name).read_bytes() == (result.release / name).read_bytes()
    assert dataset_file(tiny) == result.release / DATASET_FILE
    assert_consistent(build_dir)


def test_the_old_flat_layout_is_replaced_by_links(tiny: ProjectPaths) -> None:
    tiny.build_dir.mkdir()
    (tiny.build_dir / DATASET_FILE).write_text("<a:b> <a:c> <a:d> <a:g> .\n")
    (tiny.build_dir / MANIFEST_FILE).write_text('{"digest": "0"}')
    build(tiny)
    assert (tiny.build_dir / DATASET_FILE).is_symlink()
    assert_consistent(tiny.build_dir)


KILLED_BUILD = """
import os, signal, sys
from pathlib import Path
import ketamine_ed_kg.build as build_module
import ketamine_ed_kg.release as release_module
from ketamine_ed_kg.paths import project_paths

def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

point = sys.argv[2]
if point == "write_file":  # in the middle of writing the staged release
    calls = []
    original = release_module.write_file
    def write_file(path, payload):
        calls.append(path)
        if len(calls) == 3:
            die()
        original(path, payload)
    release_module.write_file = write_file
else:
    setattr(build_module, point, die)
build_module.build(project_paths(Path(sys.argv[1])))
"""


@pytest.mark.parametrize("point", ["write_file", "install_release", "switch_current",
                                   "link_compat", "prune_releases"])
def test_a_build_killed_at_any_step_leaves_a_consistent_state(
    tiny: ProjectPaths, point: str,
) -> None:
    old = build(tiny)
    set_study(tiny, 2)
    killed = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(tiny.root), point],
                            capture_output=True, text=True, env=child_env(), check=False)
    assert killed.returncode == -9, killed.stderr
    switched = point in ("link_compat", "prune_releases")
    served = resolve_release(tiny.build_dir)
    assert (served != old.release) == switched
    assert_consistent(tiny.build_dir)
    # A server that pinned the old release still finds it whole.
    assert sha256(old.release / DATASET_FILE) == old.digest
    # The next build finishes the job and cleans up what the killed one left (and what a kill
    # between creating a temporary link and renaming it would leave).
    os.symlink("current/dataset.nq", tiny.build_dir / ".dataset.nq.99999.link")
    (tiny.build_dir / "releases" / ".HISTORY.99999.tmp").write_text("partial")
    new = build(tiny)
    assert new.release != old.release and resolve_release(tiny.build_dir) == new.release
    assert_consistent(tiny.build_dir)
    leftovers = [p.name for p in tiny.build_dir.rglob("*")
                 if p.name.startswith((".staging", ".trash")) or p.name.endswith((".tmp", ".link"))]
    assert leftovers == []


@pytest.mark.parametrize("damage", ["a release file", "a half-written manifest"])
def test_a_damaged_release_is_repaired_by_the_next_build(tiny: ProjectPaths, damage: str) -> None:
    first = build(tiny)
    if damage == "a release file":
        (first.release / "ketamine-ed-kg.ttl").write_bytes(b"damaged")
    else:
        # build/manifest.json is a link into the current release: this damages the release's own.
        (tiny.build_dir / MANIFEST_FILE).write_text('{"digest": "ab', encoding="utf-8")
        assert read_manifest(tiny.build_dir) is None
    again = build(tiny)
    assert again.rebuilt and again.release == first.release
    assert_consistent(tiny.build_dir)


# --- pinning ---------------------------------------------------------------------------------

def test_resolve_release_returns_a_path_a_later_build_leaves_alone(tiny: ProjectPaths) -> None:
    first = build(tiny)
    pinned = resolve_release(tiny.build_dir)
    assert pinned == pinned.resolve() and not pinned.is_symlink()
    data = (pinned / DATASET_FILE).read_bytes()
    set_study(tiny, 2)
    second = build(tiny)
    assert second.digest != first.digest
    assert resolve_release(tiny.build_dir) == second.release != pinned
    assert (pinned / DATASET_FILE).read_bytes() == data
    assert dataset_version(pinned / DATASET_FILE).tag == first.digest[:32]


def test_resolve_release_without_a_build_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(BuildMissingError, match="ketamine-ed-kg build"):
        resolve_release(tmp_path / "build")
    with pytest.raises(BuildMissingError, match="ketamine-ed-kg build"):
        dataset_version(tmp_path / "build" / DATASET_FILE)


def test_a_configuration_pins_its_release_on_first_use(
    tiny: ProjectPaths, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KETAMINE_ED_KG_ROOT", str(tiny.root))
    first = build(tiny)
    config = ServiceConfig()
    assert config.dataset_path() == first.release / DATASET_FILE
    assert config.disk_store_path() == first.release / "oxigraph-store"
    linked = ServiceConfig(dataset=tiny.build_dir / DATASET_FILE)
    assert linked.dataset_path() == first.release / DATASET_FILE
    set_study(tiny, 2)
    second = build(tiny)
    # The app of this configuration computes its version and loads its store from one file.
    assert config.dataset_path() == first.release / DATASET_FILE
    assert linked.dataset_path() == first.release / DATASET_FILE
    assert ServiceConfig().dataset_path() == second.release / DATASET_FILE


@pytest.fixture()
def captured_serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Replace the real server: record the configuration ``serve`` hands to it (the one every
    gunicorn process is built from) and whether the release is held meanwhile."""
    calls: list[dict[str, Any]] = []

    def fake_serve(config: ServiceConfig, announce: Any = None, listener: Any = None,
                   quiet: bool = False) -> None:
        if listener is not None:
            listener.close()
        fd = os.open(config.dataset_path().parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = False
        except BlockingIOError:
            held = True
        finally:
            os.close(fd)
        calls.append({"config": config, "held": held})

    monkeypatch.setattr("ketamine_ed_kg.server.run.serve", fake_serve)
    for key in list(os.environ):
        if key.startswith("KETAMINE_ED_KG_"):
            monkeypatch.delenv(key)
    yield calls


def test_serve_pins_the_release_for_every_http_process(
    tiny: ProjectPaths, captured_serve: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(cli, ["--root", str(tiny.root), "serve", "--port", "5999"])
    assert result.exit_code == 0, result.output
    config: ServiceConfig = captured_serve[0]["config"]
    first = resolve_release(tiny.build_dir)
    assert config.dataset == first / DATASET_FILE
    assert captured_serve[0]["held"], "the served release must be held against pruning"
    # A rebuild while it runs; gunicorn then respawns a process from the same configuration.
    set_study(tiny, 2)
    build(tiny)
    respawned = load_config({"dataset": config.dataset}, environ={})
    assert respawned.dataset_path() == first / DATASET_FILE
    assert dataset_version(respawned.dataset_path()).tag == sha256(first / DATASET_FILE)[:32]
    assert resolve_release(tiny.build_dir) != first


def test_serve_resolves_a_configured_link_to_its_release(
    tiny: ProjectPaths, captured_serve: list[dict[str, Any]],
) -> None:
    build(tiny)
    link = tiny.build_dir / DATASET_FILE
    result = CliRunner().invoke(cli, ["--root", str(tiny.root), "serve"],
                                env={"KETAMINE_ED_KG_DATASET": str(link)})
    assert result.exit_code == 0, result.output
    config: ServiceConfig = captured_serve[0]["config"]
    assert config.dataset == resolve_release(tiny.build_dir) / DATASET_FILE


# --- the version (ETag) is the digest of the served data -------------------------------------

def test_the_tag_is_the_digest_of_the_dataset_file(tiny: ProjectPaths, tmp_path: Path) -> None:
    result = build(tiny)
    dataset = result.release / DATASET_FILE
    digest = sha256(dataset)
    manifest = read_manifest(result.release)
    assert manifest is not None and manifest["digest"] == digest == result.digest
    version = dataset_version(dataset)
    assert version.tag == digest[:32]
    # The version names the data graphs (asserted, inferred, ontology): their canonical
    # N-Quads, without the discovery graphs that state the version.
    data_lines = [line for line in dataset.read_text(encoding="utf-8").splitlines(True)
                  if line.rstrip().endswith(tuple(f"<{g}> ." for g in DATASET_GRAPHS))]
    data_digest = hashlib.sha256("".join(data_lines).encode()).hexdigest()
    assert version.version == manifest["version"] and version.version.endswith(data_digest[:12])
    # Without a manifest (a dataset outside the build) the file itself is hashed.
    loose = tmp_path / "loose.nq"
    shutil.copyfile(dataset, loose)
    assert dataset_version(loose).tag == digest[:32]
    # A manifest that does not describe the file is not believed.
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / DATASET_FILE).write_bytes(dataset.read_bytes() + b"\n")
    shutil.copyfile(result.release / MANIFEST_FILE, copy / MANIFEST_FILE)
    assert dataset_version(copy / DATASET_FILE).tag == sha256(copy / DATASET_FILE)[:32]


@pytest.mark.slow
def test_the_served_etag_derives_from_the_served_dataset(tiny: ProjectPaths) -> None:
    from ketamine_ed_kg.server.http import make_etag
    from support.server import request, waitress_server

    first = build(tiny)
    set_study(tiny, 2)
    second = build(tiny)
    for served, result in ((tiny.build_dir / DATASET_FILE, second),
                           (first.release / DATASET_FILE, first)):
        with waitress_server(served, workers=1) as srv:
            reply = request(srv.base + "/download/ketamine-ed-kg.nq")
            assert reply.status == 200
            etag = (reply.header("etag") or "").strip('"')
            assert etag == make_etag(result.digest[:32], "download", "ketamine-ed-kg.nq")


# --- pruning ---------------------------------------------------------------------------------

def test_pruning_keeps_current_the_last_few_and_held_releases(tiny: ProjectPaths) -> None:
    releases = []
    for n in range(1, 3):
        set_study(tiny, n)
        releases.append(build(tiny).release)
    hold = hold_release(releases[0])
    try:
        for n in range(3, 7):
            set_study(tiny, n)
            releases.append(build(tiny).release)
        present = {p.name for p in (tiny.build_dir / "releases").iterdir() if p.is_dir()}
        assert present == {r.name for r in [releases[0], *releases[-KEEP_RELEASES:]]}
    finally:
        hold.close()
    # Back to the sources of an old release: it becomes current again, and is kept.
    set_study(tiny, 1)
    back = build(tiny).release
    assert back.name == releases[0].name
    present = {p.name for p in (tiny.build_dir / "releases").iterdir() if p.is_dir()}
    assert present == {back.name, releases[-1].name, releases[-2].name}
    # Even asked to keep nothing, pruning never removes the current release.
    prune_releases(tiny.build_dir, keep=0)
    assert [p.name for p in (tiny.build_dir / "releases").iterdir() if p.is_dir()] == \
        [back.name]
    assert_consistent(tiny.build_dir)
    history = (tiny.build_dir / "releases" / "HISTORY").read_text().split()
    assert history == [back.name]


def test_a_build_is_skipped_when_the_current_release_is_up_to_date(tiny: ProjectPaths) -> None:
    first = build(tiny)
    second = build(tiny)
    assert not second.rebuilt and second.release == first.release
    assert second.digest == first.digest
    manifest = json.loads((first.release / MANIFEST_FILE).read_text())
    assert manifest["sources"] != manifest["digest"]
    # A new file in graph/ is a changed source too.
    extra = tiny.graph_dir / "shared" / "zz-extra.ttl"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/ketamine-ed/resource/x> rdfs:label \"x\" .\n",
        encoding="utf-8",
    )
    third = build(tiny)
    assert third.rebuilt and third.digest != first.digest
