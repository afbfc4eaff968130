"""The peers benchmark (``scripts/peers_bench.py``, ``make bench``): our service against raw
pyoxigraph, rdflib's engine and Virtuoso 7.2 on seeded synthetic graphs shaped like ours.

Modules, cut by concept: ``measure`` (memory and processes), ``workloads`` (the queries),
``prepare`` (synthetic graphs, their build phases, the reuse folder), ``engines`` (one class per
peer, each answering a query over its own protocol), ``latency`` (interleaved medians),
``throughput`` (wrk), ``growth`` (exponents and the SVG plot), ``tables`` and ``report``
(Markdown and JSON).
"""
