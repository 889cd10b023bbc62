# Hatchway: `make run` starts the server on 127.0.0.1:8000 (PORT=... to change) with SQLite
# in ./var;
# `make test` runs every test on SQLite and on PostgreSQL (127.0.0.1:5432).
# `make bench` measures Hatchway against its baselines and writes docs/benchmarks.md
# (BENCH_QUICK=1 for a smoke run of about a minute; see bench/run.py for the other settings).
# `make screenshots` renews the administration pages' pictures in docs/screenshots.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
IDP_MODULES := tests/idp/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 8000
DB ?= sqlite postgresql
# Two test processes by default (CI machines have two cores); PYTEST_ARGS='-n 0' runs in one.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test lint bench screenshots clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Hatchway needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

$(IDP_MODULES): tests/idp/package.json tests/idp/package-lock.json
	npm ci --prefix tests/idp --no-audit --no-fund
	touch $(IDP_MODULES)

run: $(INSTALLED)
	HATCHWAY_DATA_DIR=$${HATCHWAY_DATA_DIR:-./var} $(BIN)/hatchway serve --host $(HOST) --port $(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: $(INSTALLED) $(IDP_MODULES) lint
	@command -v chromium >/dev/null || { echo "Browser tests need Debian chromium: apt-get install -y chromium"; exit 1; }
	@for db in $(DB); do \
		echo "=== tests on $$db ==="; \
		HATCHWAY_TEST_DATABASE=$$db $(BIN)/pytest $(PYTEST_ARGS) || exit 1; \
	done

bench: $(INSTALLED) $(IDP_MODULES)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk >/dev/null \
		|| { apt-get update >/dev/null && apt-get install -y --no-install-recommends wrk >/dev/null; }
	$(BIN)/python -m bench.run

screenshots: $(INSTALLED)
	@command -v chromium >/dev/null || { echo "Screenshots need Debian chromium: apt-get install -y chromium"; exit 1; }
	$(BIN)/python -m tests.admin.screenshots docs/screenshots

clean:
	rm -rf $(VENV) tests/idp/node_modules .pytest_cache .mypy_cache .ruff_cache
