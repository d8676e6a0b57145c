# The two set-up commands: `make demo` and `make test`. Both create .venv when missing and
# install the project into it; nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test test-slow test-spark install clean bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/forecast demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Slow tests (large data, real-data accuracy protocols). Exit code 5 means none were selected.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS) || test $$? -eq 5

clean:
	rm -rf $(VENV) workspaces .pytest_cache .hypothesis
