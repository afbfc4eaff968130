"""Shared fixtures, and the check that the run leaves the checkout alone.

Fixtures (session-scoped unless said otherwise):

* ``sources``: the project's source files (:class:`ProjectPaths` of this checkout). Read them;
  never write there. A test that builds, validates into or edits files copies what it needs
  under ``tmp_path`` (:func:`support.project.copy_checkout`).
* ``shared_dir``: ``../shared`` beside the clone (source documents, W3C suites); tests that need
  it skip with a stated reason where it is absent (it always is beside the clone in CI).
* ``curated``: the ontology and the asserted graph, parsed once (read-only).
* ``shapes_graph``, ``qc_queries``: ``shapes/`` and ``queries/qc/``, loaded once (read-only).
* ``built_dataset``: the real sources built once, into a copy of the checkout in a session
  temporary folder (:class:`support.project.BuiltDataset`).
* ``live_server``: the service (waitress over ``create_app``, as
  :func:`support.server.waitress_server` starts it) on 127.0.0.1, serving ``built_dataset``.
  Tests that need other data or settings start their own with ``waitress_server`` or
  ``gunicorn_server`` over a dataset written with ``write_dataset``.
* ``java``: the Java runtime HermiT needs; tests that ask for it skip where there is none.
* ``virtuoso``: a real Virtuoso 7.2 (``virtuoso-t``) on 127.0.0.1 with a generated
  configuration in a session temporary folder (:mod:`support.virtuoso`), for the tests marked
  ``external_store``; the store's credentials are in the environment while it runs.
* ``listener`` (per test): a TCP listener on 127.0.0.1 counting the connections it accepts, for
  the tests that show a query reaches no network.
* ``browser`` (per test): a headless chromium (``support/browser.py``) with its profile under
  ``tmp_path``; skipped with a reason where chromium or chromedriver is absent.

Every test that asks for ``java`` (directly or through another fixture) is marked ``hermit``,
every test that asks for ``shared_dir`` is marked ``shared``, and every test that asks for
``virtuoso`` is marked ``external_store``. The other markers
(pyproject.toml) are set in the test modules; ``make test-fast`` deselects the slow ones.

Hypothesis (used by the fuzz and schemathesis tests) keeps its storage directory in a private
temporary folder for the whole run, never in ``./.hypothesis``.

Temporary files of the run, this process's (``tempfile``) and every subprocess's (``TMPDIR``:
servers, Java, chromium, node), go into a folder of pytest's base temporary folder, which
pytest removes after a run that passed (``tmp_path_retention_policy``): what a tool, or a
process a test kills, leaves behind goes with it.

At the end of the session, the run fails if it created, changed or removed anything in the
checkout (``support/checkout_guard.py`` says what is compared and what is left out).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph
from selenium.webdriver.remote.webdriver import WebDriver

from ketamine_ed_kg.build import build
from ketamine_ed_kg.errors import ReasonerUnavailableError
from ketamine_ed_kg.loading import load_shapes, load_sources
from ketamine_ed_kg.paths import ProjectPaths, project_paths
from ketamine_ed_kg.reasoning import java_executable
from ketamine_ed_kg.server.run import LiveServer
from ketamine_ed_kg.validation import QcQuery, load_qc_queries
from support import checkout_guard
from support.browser import chromium, need_chromium
from support.project import BuiltDataset, Curated, copy_checkout
from support.server import Listener, waitress_server
from support.virtuoso import VIRTUOSO, Virtuoso, store_credentials, virtuoso_server

CHECKOUT = Path(__file__).resolve().parents[1]
_BEFORE = pytest.StashKey[checkout_guard.Snapshot | None]()
_HYPOTHESIS_HOME = pytest.StashKey[Path]()


# --------------------------------------------------------------------------- session hooks


def pytest_configure(config: pytest.Config) -> None:
    # schemathesis builds test cases while pytest collects, and Hypothesis caches character
    # tables and constants in its storage directory (./.hypothesis by default) from then on.
    try:
        from hypothesis import configuration
    except ImportError:
        return
    home = Path(tempfile.mkdtemp(prefix="ked-hypothesis-"))
    configuration.set_hypothesis_home_dir(home)
    config.stash[_HYPOTHESIS_HOME] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HYPOTHESIS_HOME, None)
    if home is not None:
        from hypothesis import configuration

        configuration.set_hypothesis_home_dir(None)
        shutil.rmtree(home, ignore_errors=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.stash[_BEFORE] = checkout_guard.snapshot(CHECKOUT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.stash.get(_BEFORE, None)
    after = checkout_guard.snapshot(CHECKOUT) if before is not None else None
    if before is None or after is None:
        return
    changed = checkout_guard.changes(before, after)
    if not changed:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"the test run wrote into the checkout {CHECKOUT} (tests must write under "
             "tmp_path or tmp_path_factory; files edited by hand during the run count too):",
             *changed]
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("=", "checkout changed by the tests", red=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print("\n".join(lines))
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark where the need is declared, once: whatever asks for Java runs HermiT, and whatever
    # asks for ../shared needs it.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "java" in fixtures:
            item.add_marker(pytest.mark.hermit)
        if "shared_dir" in fixtures:
            item.add_marker(pytest.mark.shared)
        if "virtuoso" in fixtures:
            item.add_marker(pytest.mark.external_store)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_in_basetemp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tmp", numbered=False)
    before_env, before = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before
        if before_env is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before_env


@pytest.fixture(scope="session")
def sources() -> ProjectPaths:
    return project_paths()


@pytest.fixture(scope="session")
def shared_dir(sources: ProjectPaths) -> Path:
    shared = sources.shared_dir
    if not (shared / "seeds").is_dir():
        pytest.skip(f"../shared is absent ({shared}): the source documents are not beside it")
    return shared


@pytest.fixture(scope="session")
def curated(sources: ProjectPaths) -> Curated:
    ontology, data = load_sources(sources)
    return Curated(ontology, data)


@pytest.fixture(scope="session")
def shapes_graph(sources: ProjectPaths) -> Graph:
    return load_shapes(sources)


@pytest.fixture(scope="session")
def qc_queries(sources: ProjectPaths) -> tuple[QcQuery, ...]:
    return tuple(load_qc_queries(sources.qc_queries_dir))


@pytest.fixture(scope="session")
def built_dataset(sources: ProjectPaths, tmp_path_factory: pytest.TempPathFactory
                  ) -> BuiltDataset:
    checkout = copy_checkout(sources, tmp_path_factory.mktemp("built-checkout"))
    return BuiltDataset(checkout, build(checkout))


@pytest.fixture(scope="session")
def live_server(built_dataset: BuiltDataset) -> Iterator[LiveServer]:
    with waitress_server(built_dataset.dataset) as server:
        yield server


@pytest.fixture()
def listener() -> Iterator[Listener]:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts (none must arrive)."""
    found = Listener()
    yield found
    found.close()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless chromium for one test, quit afterwards."""
    need_chromium()
    driver = chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def java() -> str:
    try:
        return java_executable()
    except ReasonerUnavailableError as exc:
        pytest.skip(f"HermiT cannot run here: {exc}")


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """A real Virtuoso 7.2 on 127.0.0.1 (free ports, generated virtuoso.ini in a session
    temporary folder), with the store's credentials in the environment; stopped at the end."""
    if not Path(VIRTUOSO).exists():
        pytest.skip("virtuoso-t is absent: scripts/setup.sh installs virtuoso-opensource")
    with store_credentials(), virtuoso_server(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server
