# Optional shortcuts for developers who have make (a fresh Debian machine lacks it: apt-get
# install make). Nothing needs it: each target is one command CONTRIBUTING.md spells out, and
# the README's two commands are ./dev serve and ./dev test.
.DEFAULT_GOAL := help
VENV := .venv/bin
# The slow groups (markers registered in pyproject.toml) that test-fast leaves out, and a module
# of the fuzz group it does not even collect (schemathesis builds its cases while pytest
# collects: seconds spent on tests that would be deselected).
FAST := -m "not (slow or hermit or pyrudof or rebuild or deadline or w3c or fuzz or browser or replicas)" \
	--ignore=tests/test_openapi_schemathesis.py

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## Create .venv and install Java, the package and its test tools
	scripts/setup.sh

build: setup ## Build release files into build/
	$(VENV)/ketamine-ed-kg build

stats: setup ## Count instances per class
	$(VENV)/ketamine-ed-kg stats

reason: setup ## Run HermiT: consistency and inferred class hierarchy
	$(VENV)/ketamine-ed-kg reason

validate: setup ## Validate the graph against the SHACL shapes (and quotes against ../shared/seeds)
	$(VENV)/ketamine-ed-kg validate $(if $(wildcard ../shared/seeds),--source-texts ../shared/seeds)

serve: setup ## Serve the SPARQL endpoint on 127.0.0.1:5000
	$(VENV)/ketamine-ed-kg serve

test: ## Run the whole test suite (same as ./dev test)
	./dev test

test-fast: ## Run the suite without its slow groups (see CONTRIBUTING.md): under a minute
	./dev test -q $(FAST)

lint: setup ## ruff and mypy --strict on src/ and tests/ (as CI runs them)
	$(VENV)/ruff check src tests
	$(VENV)/mypy --strict src tests

# Arguments for scripts/peers_bench.py, e.g. BENCH_ARGS="--reuse /var/tmp/peers --runs 7".
BENCH_ARGS ?=

bench: setup ## The service against its peers at 10k-1M triples: docs/benchmarks.md, growth.svg
	$(VENV)/python scripts/peers_bench.py $(BENCH_ARGS)

bench-service: setup ## The service, pipeline, pages and cache on the curated graph (benchmarks.md)
	$(VENV)/python scripts/benchmark.py

scaling: setup ## Throughput through HAProxy with 1, 2, 3 instances (wrk): writes docs/scaling.md
	$(VENV)/python scripts/scaling_bench.py

stress: setup ## Stress the served endpoint (fuzz, load, runaways, slow clients) and write docs/reliability.md
	$(VENV)/python scripts/stress.py

.PHONY: help setup build stats reason validate serve test test-fast lint bench bench-service \
	stress scaling
