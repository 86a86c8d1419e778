# The README's two commands. Both do the whole set-up first and are safe to re-run:
#   make demo   system packages, .venv, editable install, demo config + data, then JupyterLab
#   make test   the same set-up, then ruff, mypy, the labextension's build, lint and unit tests,
#               pytest tests (PostgreSQL and a real JupyterHub with its npm proxy), browser tests
# The install is redone only when setup.py / pyproject.toml / the server config change; the
# labextension is rebuilt only when its sources change (npm ci only when the lock file does).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.astro-ops-installed
SERVER_CONFIG := jupyter-config/server-config/jupyter_astro_ops.json
DEMO_DIR ?= .demo
PYTEST_FLAGS ?= -q -p no:cacheprovider
LABEXT := labextension
LABEXT_OUT := jupyter_astro_ops/labextension
LABEXT_DEPS := $(LABEXT)/node_modules/.astro-ops-npm-ci
LABEXT_SOURCES := $(shell find $(LABEXT)/src $(LABEXT)/style $(LABEXT)/schema -type f 2>/dev/null) \
	$(LABEXT)/package.json $(LABEXT)/tsconfig.json
# the npm scripts call `jupyter-builder`, which comes with jupyterlab in the venv
NPM_ENV := PATH=$(CURDIR)/$(BIN):$$PATH
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/jupyter-astro-ops
# configurable-http-proxy (npm) for the JupyterHub tests and the local Hub example
HUB_DIR := deploy/jupyterhub
HUB_PROXY := $(HUB_DIR)/node_modules/.bin/configurable-http-proxy

.PHONY: demo test setup system lint typecheck pytest ui-tests clean-demo bench \
	labext-build labext-test hub-proxy

setup: system $(STAMP)

system:
	@scripts/setup-system.sh

$(STAMP): setup.py pyproject.toml $(SERVER_CONFIG)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@# setuptools editable installs skip data_files: enable the extension in the venv by hand
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	cp $(SERVER_CONFIG) $(VENV)/etc/jupyter/jupyter_server_config.d/jupyter_astro_ops.json
	@touch $@

demo: setup labext-build
	$(BIN)/jupyter astro-ops demo --dir=$(DEMO_DIR)
	@echo "Starting JupyterLab (only warnings are logged): open one of the login URLs above."
	JUPYTER_CONFIG_DIR=$(CURDIR)/$(DEMO_DIR)/config JUPYTER_DATA_DIR=$(CURDIR)/$(DEMO_DIR)/data \
	JUPYTER_RUNTIME_DIR=$(CURDIR)/$(DEMO_DIR)/runtime \
	$(BIN)/jupyter lab --no-browser --ServerApp.log_level=WARN \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup lint typecheck labext-test pytest ui-tests

# -- JupyterLab extension ---------------------------------------------------------------------
# --prefer-offline: the lock file pins every tarball by hash, so npm's cache needs no recheck
$(LABEXT_DEPS): $(LABEXT)/package.json $(LABEXT)/package-lock.json
	cd $(LABEXT) && npm ci --no-audit --no-fund --prefer-offline
	@touch $@

$(LABEXT_OUT)/static/style.js: $(LABEXT_DEPS) $(LABEXT_SOURCES) $(STAMP)
	cd $(LABEXT) && $(NPM_ENV) npm run build:prod
	@touch $@

# Editable installs skip data_files: link the built output into the venv (develop mode)
$(LABEXT_LINK): $(LABEXT_OUT)/static/style.js
	$(BIN)/jupyter-builder develop --overwrite .
	@touch -h $@

labext-build: setup $(LABEXT_LINK)

labext-test: labext-build
	cd $(LABEXT) && npm run lint:check && npm test

# -- JupyterHub's proxy ------------------------------------------------------------------------
$(HUB_PROXY): $(HUB_DIR)/package.json $(HUB_DIR)/package-lock.json
	cd $(HUB_DIR) && npm ci --no-audit --no-fund --prefer-offline
	@touch $@

hub-proxy: $(HUB_PROXY)

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

# labext-build first: the packaging tests build a wheel, which then needs no npm.
# Two processes (pytest-xdist): much of the suite waits on servers and subprocesses, so two
# workers on two CPUs take 11.5 min where one took 18.5; each has its own PostgreSQL cluster.
PYTEST_WORKERS ?= 2
pytest: setup labext-build hub-proxy
	ASTRO_OPS_REQUIRE_PG=1 $(BIN)/pytest $(PYTEST_FLAGS) -n $(PYTEST_WORKERS) --dist loadscope \
		tests

# Browser tests run in their own pytest process (pytest-playwright and pytest-jupyter clash).
ui-tests: setup labext-build hub-proxy
	@if ls ui_tests/test_*.py >/dev/null 2>&1; then \
		$(BIN)/pytest $(PYTEST_FLAGS) ui_tests; \
	else echo "ui_tests: no browser tests yet"; fi

# make bench BENCH_FLAGS=--quick: smaller sizes, about a minute per script;
# BENCH_FLAGS="--profile prof": py-spy profiles of the server under test in prof/
BENCH_FLAGS ?=
bench: setup
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install -q "py-spy>=0.4"
	$(BIN)/python benchmarks/bench_api.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/bench_jobstart.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/bench_calendar.py $(BENCH_FLAGS)
	$(BIN)/python benchmarks/bench_staging.py $(BENCH_FLAGS)

clean-demo:
	rm -rf $(DEMO_DIR)
