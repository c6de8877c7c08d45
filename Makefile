# Every target sets up .venv itself, so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The test extra compiles libfaketime from its C source (--no-binary: PyPI's wheel holds a copy
# prebuilt for x86-64 only), so the compiler is checked first, with a plain message if it is missing.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m tests.hostdeps --build
	$(BIN)/python -m pip install --quiet --no-binary libfaketime -e '.[test]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/alertd run --config config

# The daemon on a temporary config with a deadline 20 s ahead; stops after its alert arrived.
demo: $(STAMP)
	$(BIN)/alertd demo

# tests.hostdeps stops here, naming what is missing and how to install it, before any test runs;
# then the lint (ruff, and the layers contract), then the suite.
test: $(TEST_STAMP)
	$(BIN)/python -m tests.hostdeps
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) state build .pytest_cache .ruff_cache
