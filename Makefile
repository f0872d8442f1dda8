# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: run test lint migrate install install-dev bench load format clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(VENV)/bin/alembic upgrade head

run: migrate
	$(PY) -m app

test: install-dev
	$(PY) -m pytest --cov=app --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff format --check app tests alembic scripts
	$(VENV)/bin/ruff check app tests alembic scripts
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff format app tests alembic scripts
	$(VENV)/bin/ruff check --fix app tests alembic scripts

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
