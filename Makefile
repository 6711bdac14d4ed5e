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

# Headless Chromium renders the HTML report in one test; install it where apt is available.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the report screenshot test will be skipped"; }

demo: setup
	$(BIN)/distillguard demo

test: setup system-deps
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-output .pytest_cache
