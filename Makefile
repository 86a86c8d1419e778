# The README's two commands. Both do the whole set-up first and are safe to re-run:
#   make demo   system packages, .venv, editable install, demo config + data, then JupyterLab
#   make test   the same set-up, then ruff, mypy, pytest tests (PostgreSQL required), browser tests
# The install is redone only when setup.py / pyproject.toml / the server config change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.astro-ops-installed
SERVER_CONFIG := jupyter-config/server-config/jupyter_astro_ops.json
DEMO_DIR ?= .demo
PYTEST_FLAGS ?= -q -p no:cacheprovider

.PHONY: demo test setup system lint typecheck pytest ui-tests clean-demo bench

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

demo: setup
	$(BIN)/jupyter astro-ops demo --dir=$(DEMO_DIR)
	JUPYTER_CONFIG_DIR=$(CURDIR)/$(DEMO_DIR)/config JUPYTER_DATA_DIR=$(CURDIR)/$(DEMO_DIR)/data \
	JUPYTER_RUNTIME_DIR=$(CURDIR)/$(DEMO_DIR)/runtime \
	$(BIN)/jupyter lab --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: setup lint typecheck pytest ui-tests

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	ASTRO_OPS_REQUIRE_PG=1 $(BIN)/pytest $(PYTEST_FLAGS) tests

# Browser tests run in their own pytest process (pytest-playwright and pytest-jupyter clash).
ui-tests: setup
	@if ls ui_tests/test_*.py >/dev/null 2>&1; then \
		$(BIN)/pytest $(PYTEST_FLAGS) ui_tests; \
	else echo "ui_tests: no browser tests yet"; fi

bench: setup
	$(BIN)/python benchmarks/bench_api.py

clean-demo:
	rm -rf $(DEMO_DIR)
