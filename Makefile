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

# The web catalogues: compiled from the .po files, which are the ones kept in git.
install: $(VENV)/.installed
	$(BIN)/pybabel compile -d web/translations -D messages --statistics

# First start: the demo initializes a new ledger with two years of history.
run: install
	@if [ -z "$$QMS_DATABASE_URL" ] && [ ! -f "$(QMS_INSTANCE)/qms.sqlite3" ]; then $(BIN)/qms demo; fi
	$(BIN)/qms init
	$(BIN)/qms verify
	$(BIN)/qms status
	@echo "Demo logins (made by 'qms demo', seed 1): the password of every person is demo-<user id>:"
	@echo "  admin / demo-admin (administrator)   hq.manager / demo-hq.manager   hq.author / demo-hq.author"
	@echo "  hq.approver / demo-hq.approver       hq.auditor1 / demo-hq.auditor1 hq.certifier / demo-hq.certifier"
	@echo "  bj.author / demo-bj.author           bj.approver / demo-bj.approver bj.owner / demo-bj.owner   bj.manager / demo-bj.manager"
	@echo "  (the same for the bureaus sh, gz, cd, wh, xa)"
	$(BIN)/qms serve --host 127.0.0.1 --port 5000

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
