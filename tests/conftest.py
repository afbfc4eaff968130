"""Shared fixtures.

``paths`` is this checkout; ``shared_dir`` is ``../shared`` beside it, and tests that need it
skip with a stated reason where it is absent (it always is beside the clone in CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ketamine_ed_kg.paths import ProjectPaths, project_paths


@pytest.fixture(scope="session")
def paths() -> ProjectPaths:
    return project_paths()


@pytest.fixture(scope="session")
def shared_dir(paths: ProjectPaths) -> Path:
    shared = paths.shared_dir
    if not (shared / "seeds").is_dir():
        pytest.skip(f"../shared is absent ({shared}): the source documents are not beside it")
    return shared
