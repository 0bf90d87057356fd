# The two commands a new user needs are `make demo` and `make test` (see README.md).
# Both set up a local virtualenv first; the local Kafka and Elasticsearch are fetched from
# Maven Central and started by the project itself (infra/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint unit down clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The main job: start the stack, publish the seeds, run the pipeline until idle, show results.
demo: setup
	$(BIN)/newsbeam demo

# Lint, type-check, then every test; integration tests start (and stop) the local stack.
test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -m "not integration"

down: setup
	$(BIN)/newsbeam stack down

clean: down
	rm -rf .newsbeam $(VENV)
