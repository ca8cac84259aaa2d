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

.PHONY: help requirements demo test test-sqlite test-postgres quality bench extract_translations \
        compile_translations clean

help: ## list the targets
	@grep -E '^[a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

# The stamp is rebuilt when setup.py changes, so a new dependency reaches an existing .venv.
$(VENV)/.installed: setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

requirements: $(VENV)/.installed ## create .venv and install mentornet with its test dependencies

demo: requirements ## serve the demo on SQLite at http://$(HOST):$(PORT)/
	$(BIN)/mentornet demo --host $(HOST) --port $(PORT)

test: test-sqlite test-postgres ## run the whole suite on SQLite, then on PostgreSQL

test-sqlite: requirements
	MENTORNET_TEST_DATABASE_URL= $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: requirements
	MENTORNET_TEST_DATABASE_URL='$(MENTORNET_TEST_DATABASE_URL)' MENTORNET_TEST_REQUIRE_POSTGRES=1 \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

quality: requirements ## lint with ruff
	$(BIN)/ruff check network_service lti_bridge mentornet_xblock tests bench
	$(BIN)/ruff format --check network_service lti_bridge mentornet_xblock tests bench

bench: requirements ## measure speed against a baseline; results in bench/results/
	$(BIN)/python bench/run.py

extract_translations: requirements ## collect every user-facing string into the .pot catalog
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project mentorNET \
		-o network_service/translations/messages.pot .
	for po in network_service/translations/*/LC_MESSAGES/messages.po; do \
		[ -e "$$po" ] || continue; \
		lang=$$(basename $$(dirname $$(dirname $$po))); \
		$(BIN)/pybabel update -i network_service/translations/messages.pot -d network_service/translations -l $$lang; \
	done

compile_translations: requirements ## compile the .po catalogs to .mo
	$(BIN)/pybabel compile -d network_service/translations --statistics

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
