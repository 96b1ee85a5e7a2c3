# Two commands for a newcomer:  make run   |   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-test bench clean vendor translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: embedded mode (SQLite, no Redis) with demo data on http://$(HOST):$(PORT)
run: install
	$(BIN)/redwall db upgrade
	$(BIN)/redwall demo
	REDWALL_DEMO=1 $(BIN)/redwall run --host $(HOST) --port $(PORT)

## make test: the whole suite (import contracts, unit, integration, e2e).
## PostgreSQL/Redis tests run when REDWALL_TEST_POSTGRES_URL / REDWALL_TEST_REDIS_URL are set
## (.ci/run sets them and REDWALL_REQUIRE_SERVICES=1, so there they cannot skip).
test: install-test
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## make bench: every benchmark script (PostgreSQL on 127.0.0.1; each makes its own database)
bench: install-test
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/worklist_inbox.py
	$(BIN)/python bench/trail_verify.py
	$(BIN)/python bench/trail_throughput.py
	$(BIN)/python bench/timers_spread.py
	$(BIN)/python bench/timers_burst.py
	$(BIN)/python bench/datacentre_generate.py
	$(BIN)/python bench/prefill_latency.py
	$(BIN)/python bench/e2e_http.py
	$(BIN)/python bench/case_instructions.py
	$(BIN)/python bench/stack_floor.py

## make vendor: refresh server/static/vendor/ from package-lock.json (needs npm; the result is committed)
vendor:
	$(PYTHON) scripts/refresh_vendor.py

## make translations: extract the marked strings, merge them into the .po files, compile the .mo files.
## Two domains: `forms` (form problems and labels) from FORMS_SOURCES, `messages` from the rest of server/
## (server/translations/babel.cfg maps server/'s files and leaves out server/form_labels.py).
TRANSLATIONS   := server/translations
FORMS_SOURCES  := $(wildcard workflows/form_problems.py onewindow/eligibility.py server/form_labels.py)
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2
translations: install-test
	mkdir -p build/i18n
	$(BIN)/pybabel extract $(BABEL_KEYWORDS) --project=Redwall --sort-by-file \
	  -o build/i18n/forms.pot $(FORMS_SOURCES)
	$(BIN)/pybabel extract -F $(TRANSLATIONS)/babel.cfg $(BABEL_KEYWORDS) --project=Redwall --sort-by-file \
	  -o build/i18n/messages.pot server
	for domain in forms messages; do \
	  if [ -f $(TRANSLATIONS)/zh/LC_MESSAGES/$$domain.po ]; then \
	    $(BIN)/pybabel update -i build/i18n/$$domain.pot -d $(TRANSLATIONS) -D $$domain -l zh || exit 1; \
	  else \
	    $(BIN)/pybabel init -i build/i18n/$$domain.pot -d $(TRANSLATIONS) -D $$domain -l zh || exit 1; \
	  fi; \
	  $(BIN)/pybabel compile -d $(TRANSLATIONS) -D $$domain -l zh --statistics || exit 1; \
	done

clean:
	rm -rf $(VENV) instance .pytest_cache
