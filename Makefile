# The hub's two everyday commands:
#   make demo   install, migrate, load the demo and serve on http://127.0.0.1:8000 (SQLite)
#   make test   install and run the test suite against PostgreSQL and Redis
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/mdm
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install demo serve test lint bench services

$(VENV)/.installed: requirements/base.txt requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/test.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py mdm_demo
	$(PY) manage.py runserver 127.0.0.1:8000

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS_URL)} \
		$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

$(VENV)/.bench-installed: $(VENV)/.installed requirements/bench.txt
	$(VENV)/bin/pip install --quiet -r requirements/bench.txt
	touch $@

bench: $(VENV)/.bench-installed
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py bench_ingest --records 10000 --json
