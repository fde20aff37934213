# The one definition of how SafeStats is built, run, checked and tested.
# CI (.ci/run) and the README call these targets; every target is idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

# Stamp files make a second `make install` a no-op unless an input changed.
PY_STAMP := $(VENV)/.installed
ASSETS_STAMP := safestats/web/static/web/dist/.built
ASSET_SOURCES := $(wildcard frontend/*) package.json package-lock.json

.DEFAULT_GOAL := help
.PHONY: help install assets demo test test-fast browser lint format lock bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

install: $(PY_STAMP) $(ASSETS_STAMP) ## create .venv from the lock file and build the front-end assets

$(PY_STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SafeStats needs Python 3.11 or newer; found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed to build the GOV.UK Frontend assets"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ASSETS_STAMP): node_modules/.package-lock.json $(ASSET_SOURCES)
	npm run --silent build
	touch $@

assets: $(ASSETS_STAMP) ## build the GOV.UK Frontend CSS, JavaScript and images

# The real London boundaries beside the repository, when present, unless SAFESTATS_GEOGRAPHY_DIR
# already names a folder; without either the demo runs with boundaries absent.
demo: install ## prepare a demo instance in ./var (kept between runs) and serve it on http://127.0.0.1:$(PORT)/
	@if [ -z "$$SAFESTATS_GEOGRAPHY_DIR" ] && [ -d ../shared/data/geography ]; then \
	  SAFESTATS_GEOGRAPHY_DIR=$$(cd ../shared/data/geography && pwd); export SAFESTATS_GEOGRAPHY_DIR; \
	fi; \
	$(BIN)/safestats demo --port $(PORT)

browser: ## install headless Chromium from Debian packages if it is missing (for browser journeys)
	@if ! command -v chromium >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

test: install browser ## run the whole suite (SQLite unless DATABASE_URL names another database)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install ## the suite without browser journeys and slow process tests
	$(BIN)/python -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

lint: install ## ruff format check, ruff lint, mypy, and a check that no migration is missing
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	SAFESTATS_MODE=test SAFESTATS_HOME=$$(mktemp -d) DJANGO_SETTINGS_MODULE=config.settings $(BIN)/safestats makemigrations --check --dry-run

format: install ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## measure throughput against baselines measured in the same run (prints figures)
	$(BIN)/python bench/geography_assign.py $${POINTS:-1000000}
	$(BIN)/python bench/ingest.py $${INGEST_ROWS:-1000000 5000000}
	$(BIN)/python bench/disclosure.py
	$(BIN)/python bench/query.py $${QUERY_ROWS:-10000000 30000000}

lock: $(PY_STAMP) ## re-resolve requirements/lock.txt from pyproject.toml (needs the network)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev --strip-extras -o requirements/lock.txt pyproject.toml

clean: ## remove the virtualenv, node_modules and built assets (never ./var: that is your instance)
	rm -rf $(VENV) node_modules safestats/web/static/web/dist build dist
