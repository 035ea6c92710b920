# qakb: `make serve` sets up, builds and serves the site; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: setup build site serve test test-fast bench bench-scale clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

# axe-core for the accessibility tests. The runtime a site ships (Pyodide, KaTeX) is pinned in
# qakb/plugin/npm/ and installed into .cache/npm/ by the qakb plugin on the first build.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

setup: $(STAMP) node_modules/.package-lock.json

build: setup
	$(BIN)/qakb build

# The same build run by mkdocs alone: the qakb plugin runs the pipeline in its events.
site: setup
	$(BIN)/mkdocs build --strict

serve: build
	$(BIN)/qakb serve --port $(PORT)

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: build
	$(BIN)/python scripts/bench.py

# Build time, peak memory and output size at 1k, 10k and 30k synthetic questions (~30 min on 2 cores).
bench-scale: setup
	$(BIN)/python scripts/bench_scale.py build

clean:
	rm -rf site search_index build .cache .pytest_cache .hypothesis bench-results
