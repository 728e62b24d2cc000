# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# make serve: gunicorn workers (default two per core) and the address it listens on.
WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) )))
BIND ?= 127.0.0.1:8000

.PHONY: run serve test install install-test chromium pdf translations db demo lint bench clean accessibility swagger-ui

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MAKE) --no-print-directory translations

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,st]'
	$(MAKE) --no-print-directory translations

translations:
	$(BIN)/pybabel compile --use-fuzzy -d matchmaker/translations -f >/dev/null

db:
	$(BIN)/flask db upgrade

demo: db
	$(BIN)/flask demo load --if-empty

run: install demo
	MATCHMAKER_DEMO=1 $(BIN)/flask run --host $(HOST) --port $(PORT)

# Production: gunicorn (settings in gunicorn.conf.py) against DATABASE_URL, after migrating it.
serve: install db
	$(BIN)/gunicorn --config gunicorn.conf.py --workers $(WORKERS) --bind $(BIND) wsgi:app

# Browser tests need Debian's chromium; install it when missing and we are allowed to.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk chromium-l10n >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium chromium-driver (browser tests will be skipped)"; fi; \
	fi

# PDFs of the records need Debian's pango (WeasyPrint) and Japanese fonts; same rule as chromium.
pdf:
	@if ! ldconfig -p | grep -q libpangoft2-1.0 || ! fc-list 2>/dev/null | grep -q "Noto Sans CJK JP"; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk >/dev/null; \
	  else echo "pango or fonts-noto-cjk missing: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk (PDF tests will be skipped)"; fi; \
	fi

test: install-test chromium pdf
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-run axe-core over every main page (5 roles × ja/en × 1280/375 px) and refresh the result table
# that the accessibility statement (/accessibility) shows: data/accessibility/axe-results.json.
accessibility: install-test chromium
	MATCHMAKER_AXE_RESULTS=data/accessibility/axe-results.json $(BIN)/python -m pytest -q tests/browser/test_accessibility.py

# Re-vendor Swagger UI for /api/docs from the npm package pinned in static/vendor/swagger-ui/VERSION.json
# (served from our own origin: no CDN inside LGWAN). Bump the version there, then run this.
SWAGGER_UI_VERSION = $(shell sed -n 's/.*"version": "\([^"]*\)".*/\1/p' static/vendor/swagger-ui/VERSION.json)
swagger-ui:
	rm -rf build/swagger-ui && mkdir -p build/swagger-ui
	cd build/swagger-ui && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) && tar xzf swagger-ui-dist-*.tgz
	cp build/swagger-ui/package/swagger-ui-bundle.js build/swagger-ui/package/swagger-ui.css \
	   build/swagger-ui/package/LICENSE build/swagger-ui/package/NOTICE static/vendor/swagger-ui/
	rm -rf build/swagger-ui

bench: install
	$(BIN)/python bench/rank_latency.py
	$(BIN)/python bench/indexing.py

clean:
	rm -rf $(VENV) instance/matchmaker.sqlite tests/artifacts

# Refresh the English catalog from the Japanese source strings (then translate the new entries).
messages: $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o matchmaker/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i matchmaker/translations/messages.pot -d matchmaker/translations -l en --no-fuzzy-matching
