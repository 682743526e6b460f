# qms-ledger: `make run` serves the demo on SQLite, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export QMS_INSTANCE ?= $(CURDIR)/instance

.PHONY: install run test lint typecheck layers pytest test-browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

install: $(VENV)/.installed

# First start: the demo initializes a new ledger with two years of history.
run: install
	@if [ -z "$$QMS_DATABASE_URL" ] && [ ! -f "$(QMS_INSTANCE)/qms.sqlite3" ]; then $(BIN)/qms demo; fi
	$(BIN)/qms init
	$(BIN)/qms verify
	$(BIN)/qms status

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

pytest: install
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck layers pytest

# The browser tests alone: Debian's chromium and fonts-noto-cjk (`.ci/run` installs them).
test-browser: install
	$(BIN)/pytest -m browser tests/browser

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
