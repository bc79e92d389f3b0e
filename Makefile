# Every user-facing command. `make` (or `make help`) lists them.
# The first target that needs it creates .venv and installs the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help venv data data-fashion train test test-all clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## Create the virtual environment and install the project (once)

data: $(STAMP) ## Fetch and cache MNIST as verified uint8 arrays (once)
	$(BIN)/python -m pipeline.data mnist

data-fashion: $(STAMP) ## Install Debian's Fashion-MNIST where apt works, then cache it
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi
	$(BIN)/python -m pipeline.data fashion_mnist

train: data ## Train the seed convnet with Adam on MNIST (extra overrides: ARGS="optimizer=sgd ...")
	$(BIN)/python -m pipeline.train $(ARGS)

test: data ## Run the fast test suite
	$(BIN)/python -m pytest -q $(ARGS)

test-all: data ## Run every test, slow ones included
	$(BIN)/python -m pytest -q -m '' $(ARGS)

clean: ## Remove run outputs (keeps the data cache, the MLflow store and the venv)
	rm -rf outputs .pytest_cache
