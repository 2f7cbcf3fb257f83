# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The scaled set-up's tests use these services; CI requires them, elsewhere they skip.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint scan clean

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

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

scan: $(VENV)/.test
	$(PY) scripts/scan_execution_violations.py

test: $(VENV)/.test scan lint
	$(PY) -m pytest -m "not scaled"
	DATABASE_URL=$(TEST_POSTGRES_URL) REDIS_URL=$(TEST_REDIS_URL) SCALED_TESTS=1 \
		$(PY) -m pytest -m "scaled or every_database"

clean:
	rm -rf $(VENV) var .pytest_cache .coverage htmlcov
