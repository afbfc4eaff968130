"""``ketamine-ed-kg queries --update``: rewrite the expected answers a new graph changes.

Why, in the manner of snapshot testing: a new study rightly adds rows to many example queries
(every study by route, every dose ...). Writing those rows by hand is where curators gave up;
accepting them blindly is how a wrong row would slip in. So the command rewrites only the
expected answers that differ from the built graph's answers and prints a unified diff of each
file, for the curator to read (does the source say that?) and commit, or to revert.

To keep the diff to what changed: rows still in the answer keep their place and their text in
the file (``1.20`` stays ``1.20``); rows that left are removed; new rows are appended in the
order the query returned them. For a query with ``ORDER BY``, order is part of the answer and
the file takes the query's order.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .examples import (
    Answer,
    Example,
    compare,
    expand_curie,
    load_expected,
    row_key,
    run_embedded,
)
from .iris import compact
from .release import write_file


@dataclass(frozen=True)
class Update:
    """One expected-answer file and what ``--update`` made of it."""

    example: Example
    path: Path
    old: str
    new: str

    @property
    def diff(self) -> str:
        """A unified diff of the file, as ``git diff`` shows it (line ends normalised)."""
        return "".join(difflib.unified_diff(
            [line.rstrip("\r\n") + "\n" for line in self.old.splitlines()],
            [line.rstrip("\r\n") + "\n" for line in self.new.splitlines()],
            fromfile=f"a/queries/{self.path.name}", tofile=f"b/queries/{self.path.name}",
        ))


def _csv_text(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # CRLF line ends, as SPARQL 1.1 CSV results and our files
    writer.writerows(rows)
    return buffer.getvalue()


def render_expected(example: Example, actual: Answer, old_text: str | None) -> str:
    """The expected-answer file for ``actual``, keeping what it can of ``old_text``."""
    if actual.boolean is not None:
        return json.dumps({"head": {}, "boolean": actual.boolean}) + "\n"
    new_rows = [tuple(compact(cell) for cell in row) for row in actual.rows]
    if example.ordered or old_text is None:
        return _csv_text([actual.variables, *new_rows])
    old_table = list(csv.reader(io.StringIO(old_text)))
    old_rows = [tuple(row) for row in old_table[1:]] if old_table[:1] == [
        list(actual.variables)] else []
    remaining = [row_key(r) for r in actual.rows]
    kept = []
    for row in old_rows:
        key = row_key(tuple(expand_curie(cell) for cell in row))
        if key in remaining:
            remaining.remove(key)  # one old row per actual row (duplicates count)
            kept.append(row)
    added = []
    for row, shown in zip(actual.rows, new_rows, strict=True):
        key = row_key(row)
        if key in remaining:
            remaining.remove(key)
            added.append(shown)
    return _csv_text([actual.variables, *kept, *added])


def update_examples(store: Any, examples: Sequence[Example], *, write: bool = True
                    ) -> list[Update]:
    """Rewrite (when ``write``) every expected answer that disagrees with ``store``."""
    updates = []
    for example in examples:
        actual = run_embedded(store, example)
        path = example.expected_path
        if path is None:
            path = example.path.with_suffix(".srj" if example.form == "ask" else ".csv")
            old = None
        else:
            if not compare(load_expected(path), actual, ordered=example.ordered):
                continue
            old = path.read_text(encoding="utf-8")
        new = render_expected(example, actual, old)
        if new == old:
            continue
        if write:
            write_file(path, new.encode("utf-8"))
        updates.append(Update(example=example, path=path, old=old or "", new=new))
    return updates


__all__ = ["Update", "render_expected", "update_examples"]
