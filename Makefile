# Everything runs from a local virtualenv that these targets create and keep up to date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SNIPPET_TOOLS := js-snippet/node_modules/.installed

.PHONY: install run test bench snippet clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# terser, pinned in js-snippet/package-lock.json: the snippet's build, and the test that dist/ is fresh.
$(SNIPPET_TOOLS): js-snippet/package-lock.json
	cd js-snippet && npm ci --no-audit --no-fund --loglevel=error
	touch $(SNIPPET_TOOLS)

snippet: $(SNIPPET_TOOLS)
	js-snippet/build.sh

run: install
	$(BIN)/handrail run --demo

test: install $(SNIPPET_TOOLS)
	@echo "js-snippet/dist/hr.min.js: $$(gzip -9c js-snippet/dist/hr.min.js | wc -c) bytes gzipped (budget 3000)"
	$(BIN)/python -m pytest

bench: install
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache js-snippet/node_modules
