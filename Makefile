# IOC streaming pipeline. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
IOC := $(VENV)/bin/ioc
DEMO_ARGS ?=
.DEFAULT_GOAL := help

.PHONY: help install lock system up status down migrate topics schemas lint helm-check test test-unit test-dates quality clean demo bench

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(VENV)/.installed ## Create .venv and install exactly requirements/dev.lock (hashes checked), then the project
$(VENV)/.installed: requirements/dev.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements/dev.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

# Lock files (decision 0017): uv, itself installed from requirements/tools.lock into a
# venv of its own, resolves pyproject.toml for Python 3.11+ on every platform. Existing
# pins are kept unless pyproject.toml needs otherwise; LOCK_ARGS=--upgrade moves them all,
# LOCK_ARGS='--upgrade-package NAME' one.
LOCK_VENV := .cache/tools/lock
UV := $(LOCK_VENV)/bin/uv
LOCK_ARGS ?=
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command 'make lock'
lock: $(UV) ## Re-resolve requirements/*.lock from pyproject.toml (LOCK_ARGS=--upgrade for newer versions)
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) pyproject.toml requirements/build.in \
	  --extra dev --extra profiles --extra bench -o requirements/dev.lock
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) pyproject.toml requirements/build.in \
	  -c requirements/dev.lock -o requirements/runtime.lock
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) ioc/tooling/bench/peer-requirements.txt \
	  -o requirements/bench-peer.lock
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) requirements/tools.in -o requirements/tools.lock
$(UV): requirements/tools.lock
	@test -x $(LOCK_VENV)/bin/python || python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --require-hashes -r requirements/tools.lock
	@touch $@

system: ## Install the Debian packages of the local stack (no-op when present)
	bash deploy/local/install-system.sh

up: install ## Start Kafka, ClickHouse, Prometheus, Alertmanager, Mosquitto, PostgreSQL on 127.0.0.1
	bash deploy/local/up.sh

status: ## Show each local service with its port and health
	bash deploy/local/status.sh

down: ## Stop exactly the services `make up` started
	bash deploy/local/down.sh

demo: install ## Start everything (stack, pipeline, simulator via the connectors) with a live view; Ctrl-C stops it
	bash deploy/local/up.sh
	$(IOC) demo $(DEMO_ARGS)

migrate: install ## Apply ClickHouse migrations (safe to run twice)
	$(IOC) db migrate

topics: install ## Create/align Kafka topics from the registry (idempotent)
	$(IOC) topics create

schemas: install ## Re-export the JSON Schema files in schemas/json/
	$(IOC) schemas export

lint: install ## ruff + mypy + lint-imports (the layering contracts of pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# The Helm chart (deploy/helm, decision 0026): helm lint and helm template for the default
# and the example values, every manifest against the Kubernetes schemas of
# kubernetes-validate (offline). helm is built once from the Go module proxy into
# .cache/tools/helm/ (go on PATH or /usr/local/go/bin; 3–6 min with Go's caches cold).
helm-check: install ## Lint, render and validate the Helm chart offline (builds helm once)
	$(PY) -m ioc.tooling.helm_check

test-unit: install ## Unit tests only (no services)
	$(PY) -m pytest -m unit -q

# Month ends (a Saturday, a Monday), a Sunday, Tết (mùng 1 2026), 1 January.
TEST_DATES ?= 2026-10-31 2026-11-30 2026-11-29 2026-02-17 2026-01-01
test-dates: up ## Date-sensitive integration tests with the scenario moved to each of TEST_DATES
	@for day in $(TEST_DATES); do \
	  echo "=== IOC_TEST_TODAY=$$day ==="; \
	  IOC_TEST_TODAY=$$day $(PY) -m pytest -m scenario_date -q -p no:cacheprovider || exit 1; \
	done

# NAB=dir scores real labelled series instead (a folder in the Numenta Anomaly Benchmark
# layout; NAB_SUBSET=folders,files picks some): table + .cache/quality-nab.json.
NAB ?=
NAB_SUBSET ?=
quality: install ## Detection quality per kind on 3 simulated weeks (seed 2): table + .cache/quality.json; NAB=dir: NAB score on real series
	$(IOC) quality $(if $(NAB),--nab $(NAB)) $(if $(NAB_SUBSET),--subset $(NAB_SUBSET))

bench: up $(VENV)/.bench-installed ## Pipeline vs a bare consumer and Quix Streams: throughput, latency, RSS (BENCH_ARGS=--quick); bench-results/*.json
	$(IOC) bench run $(BENCH_ARGS)
# The profilers of the bench extra are in requirements/dev.lock (make install).
$(VENV)/.bench-installed: $(VENV)/.installed requirements/bench-peer.lock
	@test -x .cache/bench/peer-venv/bin/python || python3 -m venv .cache/bench/peer-venv
	.cache/bench/peer-venv/bin/python -m pip install -q --require-hashes -r requirements/bench-peer.lock
	@touch $@

test: install ## Everything CI runs: lint, the Helm chart, start the stack, unit + integration tests, stop the stack
	bash deploy/local/test.sh

clean: down ## Stop services and delete local data (.cache)
	rm -rf .cache
