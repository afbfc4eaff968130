"""Measure the external store: load time, and example-query latency Virtuoso vs embedded.

Usage (a Virtuoso running, credentials in KETAMINE_ED_KG_STORE_USER / _PASSWORD)::

    .venv/bin/python scripts/bench_external_store.py DATASET.nq http://127.0.0.1:8890 [RUNS]

Loads DATASET with ``load_release`` three times (the first into an empty or older store, then
replacing), then serves it on both backends (waitress, as the tests do) and runs every example
query RUNS times (default 7) through HTTP on each, reporting the median per query and the
ratio Virtuoso / embedded. Prints a Markdown table for docs/external-store.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ketamine_ed_kg.examples import load_examples  # noqa: E402
from ketamine_ed_kg.paths import project_paths  # noqa: E402
from ketamine_ed_kg.store.upload import load_release  # noqa: E402
from support.server import request, waitress_server  # noqa: E402


def main() -> None:
    dataset, base = Path(sys.argv[1]), sys.argv[2].rstrip("/")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    urls = {"query_url": base + "/sparql", "graph_store_url": base + "/sparql-graph-crud-auth",
            "update_url": base + "/sparql-auth"}
    loads = [load_release(dataset, **urls).seconds for _ in range(3)]
    print(f"load: {', '.join(f'{s:.2f}' for s in loads)} s "
          f"(median {statistics.median(loads):.2f} s)")
    examples = load_examples(project_paths().queries_dir)
    medians: dict[str, list[float]] = {}
    with waitress_server(dataset) as embedded, waitress_server(
            dataset, store="sparql", sparql_query_url=urls["query_url"]) as external:
        for example in examples:
            row = []
            for server in (embedded, external):
                url = server.endpoint + "?" + urlencode({"query": example.query})
                request(url, headers={"Accept": "application/sparql-results+json"})  # warm
                times = []
                for _ in range(runs):
                    began = time.perf_counter()
                    request(url, headers={"Accept": "application/sparql-results+json"})
                    times.append(time.perf_counter() - began)
                row.append(statistics.median(times) * 1000)
            medians[example.name] = row
    print("| example | embedded ms | Virtuoso ms | ratio |\n|---|---:|---:|---:|")
    for name, (a, b) in medians.items():
        print(f"| `{name}` | {a:.1f} | {b:.1f} | {b / a:.2f} |")
    ratios = [b / a for a, b in medians.values()]
    print(f"\nmedian ratio {statistics.median(ratios):.2f}, geometric mean "
          f"{statistics.geometric_mean(ratios):.2f}, min {min(ratios):.2f}, "
          f"max {max(ratios):.2f} over {len(ratios)} queries, {runs} runs each")


if __name__ == "__main__":
    main()
