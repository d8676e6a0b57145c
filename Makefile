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
.PHONY: demo test test-slow test-spark install clean chromium java

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

# Spark tests (tests marked spark, in one local[2] session; a few minutes): installs the spark
# extra (pyspark with Spark Connect) and, when `java` is missing, a Java 17 runtime (Debian
# package, needs root). `make test` skips these tests and says why.
SPARK_STAMP := $(VENV)/.spark-installed

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

java:
	@command -v java >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	  openjdk-17-jre-headless; } || \
	  { echo "the Spark tests need Java 17 (openjdk-17-jre-headless)"; exit 1; }

test-spark: $(SPARK_STAMP) java
	$(BIN)/python -m pytest -m spark $(PYTEST_ARGS)

# Headless Chromium (and a CJK font for the Chinese report) renders the HTML reports in their
# tests (Debian packages; needs root). Without
# it those tests skip and say why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei) \
	  || echo "chromium could not be installed: the HTML report tests will be skipped"; }

clean:
	rm -rf $(VENV) workspaces .pytest_cache .hypothesis
