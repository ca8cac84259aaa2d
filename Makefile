# mentorNET — Open edX style targets. Every target that needs Python creates .venv first when it is missing.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
MENTORNET_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# The browser tests drive Debian's Chromium through Playwright; Playwright never downloads a browser.
CHROMIUM ?= /usr/bin/chromium

.PHONY: help requirements browser demo test test-sqlite test-postgres test-browser screenshots quality bench \
        extract_translations compile_translations clean

help: ## list the targets
	@grep -E '^[a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

# The stamp is rebuilt when setup.py changes, so a new dependency or a moved range reaches an existing .venv:
# every package is brought up to the newest release its ranges allow (eager), as a fresh .venv in CI gets them.
$(VENV)/.installed: setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test,postgres]'
	touch $@

requirements: $(VENV)/.installed ## create .venv and install mentornet with its test dependencies

browser: ## Chromium from Debian's packages for the browser tests (installed once, needs root)
	@if [ -x '$(CHROMIUM)' ]; then \
		echo "Chromium for the browser tests: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium from Debian's packages for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends chromium \
			|| { apt-get update && apt-get install -y --no-install-recommends chromium; }; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM), and only root can install it here." >&2; \
		echo "Run once: sudo apt-get install --no-install-recommends chromium" >&2; \
		echo "(or point CHROMIUM=/path/to/chromium at another build)." >&2; \
		exit 1; \
	fi

demo: requirements ## serve the demo on SQLite at http://$(HOST):$(PORT)/
	$(BIN)/mentornet demo --host $(HOST) --port $(PORT)

# Both runs at once, one per core (CI's time is about halved): each run's output is held back and printed whole
# when that run ends (GNU make's --output-sync), so the two never interleave. Each run has its own database (a
# temporary SQLite file, a private PostgreSQL schema), its own servers on free ports and its own Redis queue
# names and key prefixes. `make test-sqlite` or `make test-postgres` runs one of them alone.
test: requirements browser ## run the whole suite on SQLite and on PostgreSQL, both at once
	@echo "Running the suite on SQLite (with the browser tests) and on PostgreSQL at once; each run's output comes when it ends."
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# The browser tests (marker `browser`) run in the SQLite run only: they test pages, not the database.
test-sqlite: requirements browser
	MENTORNET_TEST_DATABASE_URL= MENTORNET_TEST_REQUIRE_BROWSER=1 MENTORNET_TEST_CHROMIUM='$(CHROMIUM)' \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: requirements
	MENTORNET_TEST_DATABASE_URL='$(MENTORNET_TEST_DATABASE_URL)' MENTORNET_TEST_REQUIRE_POSTGRES=1 \
		$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

test-browser: requirements browser ## only the browser tests (headless Chromium, axe-core, page weight)
	MENTORNET_TEST_DATABASE_URL= MENTORNET_TEST_REQUIRE_BROWSER=1 MENTORNET_TEST_CHROMIUM='$(CHROMIUM)' \
		$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

screenshots: requirements browser ## retake docs/screenshots/*.png at 360 px through the browser tests
	MENTORNET_TEST_DATABASE_URL= MENTORNET_TEST_REQUIRE_BROWSER=1 MENTORNET_TEST_CHROMIUM='$(CHROMIUM)' \
		MENTORNET_TEST_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser -k 360px $(PYTEST_ARGS)

# pip-audit findings that do not affect mentorNET, each with its reason in docs/development.md:
# PIP_AUDIT_IGNORE := --ignore-vuln GHSA-xxxx-xxxx-xxxx
PIP_AUDIT_IGNORE ?=

quality: requirements ## lint with ruff, scan the code with bandit, audit the installed packages with pip-audit
	$(BIN)/ruff check network_service lti_bridge mentornet_xblock tests bench
	$(BIN)/ruff format --check network_service lti_bridge mentornet_xblock tests bench
	$(BIN)/bandit --quiet --severity-level low -c pyproject.toml -r network_service lti_bridge mentornet_xblock
	$(BIN)/pip-audit --local --strict --skip-editable --progress-spinner off $(PIP_AUDIT_IGNORE)

bench: requirements ## measure speed against a baseline; results in bench/results/
	$(BIN)/python bench/run.py

extract_translations: requirements ## collect every user-facing string into the .pot catalog
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project mentorNET \
		-o network_service/translations/messages.pot .
	for po in network_service/translations/*/LC_MESSAGES/messages.po; do \
		[ -e "$$po" ] || continue; \
		lang=$$(basename $$(dirname $$(dirname $$po))); \
		$(BIN)/pybabel update -w 110 -i network_service/translations/messages.pot -d network_service/translations -l $$lang; \
	done
	# The XBlock's own catalogs (domain `text`, as Open edX's XBlockI18nService looks them up), from mentornet_xblock only.
	$(BIN)/pybabel extract -F babel-xblock.cfg -k _l -k lazy_gettext --project mentorNET \
		-o mentornet_xblock/translations/text.pot mentornet_xblock
	for po in mentornet_xblock/translations/*/LC_MESSAGES/text.po; do \
		[ -e "$$po" ] || continue; \
		lang=$$(basename $$(dirname $$(dirname $$po))); \
		$(BIN)/pybabel update -w 110 -D text -i mentornet_xblock/translations/text.pot -d mentornet_xblock/translations -l $$lang; \
	done

compile_translations: requirements ## compile the .po catalogs to .mo
	$(BIN)/pybabel compile -d network_service/translations --statistics
	$(BIN)/pybabel compile -D text -d mentornet_xblock/translations --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
