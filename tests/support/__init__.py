"""Helpers shared by the tests (no tests here): ``server`` (datasets, live servers, raw HTTP),
``graph`` (reading curated values) and ``shapes`` (the SHACL fixtures in ``tests/shapes/``).

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject.toml), so tests and scripts import
them as ``support.server`` and so on.
"""
