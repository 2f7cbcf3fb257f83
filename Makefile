# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The scaled set-up's tests use these services; CI requires them, elsewhere they skip.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test scan lint types clean

$(VENV)/.runtime: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py sync_plugins
	$(PY) manage.py ensure_schedules
	$(PY) manage.py bootstrap_local --base-url http://127.0.0.1:$(PORT)
	$(PY) manage.py serve --port $(PORT)

scan: $(VENV)/.test
	$(PY) scripts/scan_execution_violations.py

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

types: $(VENV)/.test
	$(VENV)/bin/mypy

# The scanner first: a governance violation is the first thing a contributor must hear about.
test: $(VENV)/.test
	$(MAKE) --no-print-directory scan lint types
	$(PY) -m pytest -m "not scaled" --cov --cov-report=
	DATABASE_URL=$(TEST_POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL) SCALED_TESTS=1 \
		$(PY) -m pytest -m "scaled or every_database" --cov --cov-append --cov-report=
	$(PY) -m coverage report

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov
