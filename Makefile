# The two commands a new user runs on a fresh machine:
#   make demo   - set up a virtual environment and run the end-to-end demo
#   make test   - set up a virtual environment and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test setup clean

$(BIN)/distillguard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/distillguard

demo: setup
	$(BIN)/distillguard demo

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-output .pytest_cache
