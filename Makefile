# Two commands do all set-up on a fresh machine: `make run` and `make test`. `make` alone lists
# every target (`## ` after a target is its line in that list).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The scaled set-up's tests use these services; CI requires them, elsewhere they skip.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# The system packages some tests use for real: CI installs them (.ci/run); elsewhere their tests
# skip, and `make test` says so in one line.
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng chromium chromium-driver
SUPPORTED_PYTHON := (3, 11) <= sys.version_info[:2] <= (3, 13)

.DEFAULT_GOAL := help
.PHONY: help run test scan lint types clean

help: ## this list
	@echo "make <target>, on a fresh machine: make run, then make test."
	@awk -F ':.*## ' '/^[a-z]+:.*## / { printf "  %-6s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# A virtualenv whose python does not run a supported version (a dangling link: moved, or its
# interpreter uninstalled or replaced) is removed before make looks at its stamps, so the rules
# below build it again from nothing. The stamps are written only once an install succeeded, so an
# interrupted one is taken up again by the next make.
ifneq ($(shell $(PY) -c 'import sys; print(int($(SUPPORTED_PYTHON)))' 2>/dev/null),1)
$(shell rm -rf $(VENV))
endif

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(not ($(SUPPORTED_PYTHON)))' || { \
		echo "make: $(PYTHON) is not Python 3.11 to 3.13; run with PYTHON=/path/to/python3.1x" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.runtime ## set up, then serve web + worker on 127.0.0.1:8000 (PORT=9000 for another port)
	@$(PY) -c 'import socket, sys; probe = socket.socket(); \
		probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
		sys.exit(probe.connect_ex(("127.0.0.1", $(PORT))) == 0 or probe.bind(("127.0.0.1", $(PORT))))' \
		2>/dev/null || { echo "make run: port $(PORT) is already in use; stop what serves it, or run PORT=9000 make run" >&2; exit 1; }
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py sync_plugins
	$(PY) manage.py ensure_schedules
	$(PY) manage.py bootstrap_local --base-url http://127.0.0.1:$(PORT)
	$(PY) manage.py serve --port $(PORT)

scan: $(VENV)/.test ## the governance scanner
	$(PY) scripts/scan_execution_violations.py

lint: $(VENV)/.test ## ruff and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

types: $(VENV)/.test ## mypy
	$(VENV)/bin/mypy

# The scanner first: a governance violation is the first thing a contributor must hear about.
test: $(VENV)/.test ## scanner, lint, types, then the tests on SQLite and on PostgreSQL + Redis
	$(MAKE) --no-print-directory scan lint types
	@missing=$$(for tool in tesseract chromedriver; do command -v $$tool >/dev/null || echo $$tool; done; \
		command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null || echo chromium); \
	if [ -n "$$missing" ] && [ "$$CI" != true ]; then \
		echo "make test:" $$missing "not found, so their tests skip; to run them: apt-get install $(SYSTEM_PACKAGES)"; fi
	$(PY) -m pytest -m "not scaled" --cov --cov-report=
	DATABASE_URL=$(TEST_POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL) SCALED_TESTS=1 \
		$(PY) -m pytest -m "scaled or every_database" --cov --cov-append --cov-report=
	$(PY) -m coverage report

clean: ## remove the virtualenv and the embedded set-up's state (var/)
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov
