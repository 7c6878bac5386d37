# The hub's two everyday commands:
#   make demo   install, migrate, load the demo and serve on http://127.0.0.1:8000 (SQLite)
#   make test   install and run the test suite against PostgreSQL and Redis
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/mdm
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install install-test browser demo serve test lint bench messages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(PY)
	$(VENV)/bin/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.installed-test: requirements/base.txt requirements/bench.txt requirements/test.txt | $(PY)
	$(VENV)/bin/pip install --quiet -r requirements/test.txt
	touch $@

install: $(VENV)/.installed-base

install-test: $(VENV)/.installed-test

# The browser tests drive Debian's Chromium (Playwright's own browser download is not used),
# with a CJK font so the screenshots show Chinese names.
CHROMIUM ?= /usr/bin/chromium
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@test -x $(CHROMIUM) -a -d /usr/share/fonts/opentype/noto \
		|| $(APT) install -y -qq $(BROWSER_PACKAGES) >/dev/null \
		|| ($(APT) update -qq && $(APT) install -y -qq $(BROWSER_PACKAGES) >/dev/null)

demo: install
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py mdm_demo
	$(PY) manage.py runserver 127.0.0.1:8000

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

test: install-test browser
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(REDIS_URL)} \
		$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py bench_ingest --records 10000 --json

# Refresh the Simplified Chinese catalogue after changing interface text (needs gettext);
# fill the new msgstr entries in locale/zh_Hans/LC_MESSAGES/django.po, then run it again.
messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-location --ignore=.venv --ignore=tests \
		--ignore=test-artifacts
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv
