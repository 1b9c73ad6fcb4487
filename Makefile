# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup python-version lint format clean-data

# `make run` installs what running needs (.[local]: the app and the embedded PostgreSQL and Redis);
# `make test` installs .[dev] (that plus the test and lint tools). Both install with uv (from PyPI,
# into .venv; pip if uv cannot be installed), Python and npm side by side, output in .data/logs/.
run: python-version
	@$(PYTHON) earlyhelp/devstack.py install local
	@$(PY) -m earlyhelp.devstack run

test: setup
	@$(PY) -m earlyhelp.devstack test $(ARGS)

setup: python-version
	@$(PYTHON) earlyhelp/devstack.py install dev

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "earlyhelp needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean-data:
	rm -rf .data
