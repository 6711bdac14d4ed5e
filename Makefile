# The two commands a new user runs on a fresh machine:
#   make demo   - set up a virtual environment and run the end-to-end demo
#   make test   - set up a virtual environment, lint and type-check, and run the test suite
# and one for analysts after the demo:
#   make shell  - a shell with the virtual environment active (`distillguard` on PATH)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# pip -qq prints errors only: without it a fresh install shows setuptools' editable-install notice
# and one warning per missing entry of this machine's extra package indexes.
PIP_QUIET := -qq

# Linted by ruff (rules in pyproject.toml's [tool.ruff]): the whole tree.
# Type-checked by mypy: the files of [tool.mypy] in pyproject.toml.

.PHONY: demo test lint shell setup system-deps clean

$(BIN)/distillguard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/pip install $(PIP_QUIET) -e '.[test]'
	@touch $@

setup: $(BIN)/distillguard

demo: setup
	$(BIN)/distillguard demo

test: setup system-deps lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

shell: setup
	@echo "distillguard is on PATH in this shell; 'exit' leaves it"
	@. $(BIN)/activate && exec $${SHELL:-bash} -i

# Headless Chromium renders the HTML reports in tests/test_report.py (skipped when it is absent).
# Installed quietly with apt-get when missing; elsewhere (no apt-get, no root or sudo) it only says so.
system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1 && { [ -z "$$SUDO" ] || command -v sudo >/dev/null 2>&1; }; then \
	    echo "installing chromium with apt-get (report rendering tests)"; \
	    $$SUDO apt-get update -qq >/dev/null && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	      || echo "could not install chromium; the report rendering test will be skipped"; \
	  else echo "chromium not found and apt-get unavailable; the report rendering test will be skipped"; fi; }

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
