# The two set-up commands: `make demo` and `make test`. Both create .venv when missing and
# install the project into it; nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# Benchmarks have no target: each script in experiments/benchmarks/ is run on its own
# (`$(BIN)/python experiments/benchmarks/bench_<name>.py`, see its docstring) and records its
# results in experiments/benchmarks/results/.
.PHONY: demo test test-slow test-spark install clean chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/forecast demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Slow tests (large data, real-data accuracy protocols). Exit code 5 means none were selected.
test-slow: $(STAMP) chromium
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS) || test $$? -eq 5

# Spark tests (need the spark extra, pyspark and Java). Exit code 5 means none were selected:
# no test carries the spark marker yet.
test-spark: $(STAMP)
	$(BIN)/python -m pytest -m spark $(PYTEST_ARGS) || { status=$$?; test $$status -eq 5 && \
	  echo "no Spark tests exist yet (none carries the spark marker)"; }

# Headless Chromium (and a CJK font for the Chinese report) renders the HTML reports in their
# tests (Debian packages; needs root). Without
# it those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei) \
	  || echo "chromium could not be installed: the HTML report tests will be skipped"; }

clean:
	rm -rf $(VENV) workspaces .pytest_cache .hypothesis
