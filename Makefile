# The two quick-start commands, `make run` and `make test`, and their helpers.
# Each creates .venv on first use and reinstalls when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Test processes; the suite is written for two cores.
TEST_WORKERS ?= 2

.PHONY: run demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test,lint]'
	touch $@

## run: upgrade the database, sync sources.yaml, crawl now and on schedule, serve
run: $(INSTALLED)
	$(BIN)/aggregator run

## demo: the same on sample feeds served on 127.0.0.1:8765, in var/demo.db
demo: $(INSTALLED)
	$(BIN)/aggregator demo

## test: lint, then the whole test suite
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
