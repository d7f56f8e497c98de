# Storefront: `make run` serves the demo shop, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app storefront
PORT ?= 8000
# The demo needs no more (a server sizes itself from its CPUs: gunicorn.conf.py).
WORKERS ?= 2
HTMX := static/vendor/htmx.min.js
CATALOGS := $(patsubst %.po,%.mo,$(wildcard storefront/translations/*/LC_MESSAGES/messages.po))

.PHONY: run setup test lint test-sqlite test-postgres translations clean

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	PORT=$(PORT) WORKERS=$(WORKERS) $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

setup: $(VENV)/.installed $(HTMX) $(CATALOGS)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(HTMX): node_modules/.package-lock.json
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

# Refresh the message catalogs after changing user-facing strings.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs='.* node_modules __pycache__' \
		-o storefront/translations/messages.pot .
	$(BIN)/pybabel update -i storefront/translations/messages.pot -d storefront/translations \
		--no-fuzzy-matching --ignore-obsolete

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: setup
	$(BIN)/pytest

# The ledger's random histories: 1,000 on SQLite, 250 more on PostgreSQL.
test-postgres: setup
	LEDGER_HISTORIES=250 $(BIN)/python tests/postgres.py $(BIN)/pytest

test: lint test-sqlite test-postgres

# Issue 7's bar: the seller dashboard and customers page on a generated 1,000 shops,
# 10,000 products, 100,000 orders and 1,000,000 visits (SQLite, outside the repo).
BENCH_DB ?= /tmp/storefront-bench.db
.PHONY: bench-analytics
bench-analytics: setup
	rm -f $(BENCH_DB) $(BENCH_DB)-wal $(BENCH_DB)-shm
	$(BIN)/python -m benchmarks.dataset --database sqlite:///$(BENCH_DB)
	$(BIN)/python -m benchmarks.pages --database sqlite:///$(BENCH_DB)

clean:
	rm -rf $(VENV) node_modules benchmarks/lighthouse/node_modules static/vendor $(CATALOGS)

# Issue 8's page weight and Lighthouse scores (mobile) of the demo's home, shop and
# product pages. Lighthouse is a tool, not part of the shop: its npm package lives
# in benchmarks/lighthouse/. Its section of benchmarks/RESULTS.md is replaced.
LIGHTHOUSE_NPM := benchmarks/lighthouse/node_modules/.package-lock.json
LIGHTHOUSE_ARGS ?= --output benchmarks/RESULTS.md
.PHONY: lighthouse
lighthouse: setup $(LIGHTHOUSE_NPM)
	$(BIN)/python -m benchmarks.lighthouse $(LIGHTHOUSE_ARGS)

$(LIGHTHOUSE_NPM): benchmarks/lighthouse/package.json benchmarks/lighthouse/package-lock.json
	cd benchmarks/lighthouse && npm ci --no-audit --no-fund

# Issue 8's load benchmark: the README's gunicorn on one CPU, wrk on the other, every
# endpoint against a constant-response floor, and cost at 1,000 vs 100,000 orders.
# Writes benchmarks/RESULTS.md; the database is a SQLite file in a temporary directory.
.PHONY: bench
bench: setup
	$(BIN)/python -m benchmarks.load
