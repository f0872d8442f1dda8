# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: run test lint migrate install install-dev browser bench load format clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# The browser tests drive Debian's Chromium (Playwright's own download cannot work offline);
# a CJK font makes the Chinese screenshots readable.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
browser:
	@{ test -x /usr/bin/chromium && test -e $(CJK_FONT); } || { [ "$$(id -u)" = 0 ] \
	  && command -v apt-get >/dev/null && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei \
	  >/dev/null; } || echo "warning: /usr/bin/chromium missing; the browser tests will fail"

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(VENV)/bin/alembic upgrade head

run: migrate
	$(PY) -m app

test: install-dev browser
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

LOAD_HOST ?= http://127.0.0.1:8000

# Benchmarks: starts and stops its own servers (SQLite, one process); figures in docs/benchmarks.md.
bench: install-dev
	$(PY) scripts/bench.py --preset default

# Locust, headless, 100 users for 60 s against a server already running at LOAD_HOST.
load: install-dev
	$(VENV)/bin/locust -f tests/locustfile.py --headless --users 100 --spawn-rate 20 \
		--run-time 60s --stop-timeout 5 --host $(LOAD_HOST) --only-summary
