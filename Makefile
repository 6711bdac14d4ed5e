# The two commands a new user runs on a fresh machine:
#   make demo   - set up a virtual environment and run the end-to-end demo
#   make test   - set up a virtual environment and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test setup system-deps clean

$(BIN)/distillguard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/distillguard

demo: setup
	$(BIN)/distillguard demo

test: setup system-deps
	$(BIN)/python -m pytest -q

# Headless Chromium renders the HTML reports in tests/test_report.py (skipped when it is absent).
# Installed quietly with apt-get when missing; elsewhere (no apt-get, no root or sudo) it only says so.
system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  if command -v apt-get >/dev/null 2>&1 && { [ -z "$$SUDO" ] || command -v sudo >/dev/null 2>&1; }; then \
	    echo "installing chromium (report rendering tests)"; \
	    $$SUDO apt-get update -qq >/dev/null && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
	      || echo "could not install chromium; the report rendering test will be skipped"; \
	  else echo "chromium not found and apt-get unavailable; the report rendering test will be skipped"; fi; }

clean:
	rm -rf $(VENV) demo-output .pytest_cache
