# Every user-facing command. `make` (or `make help`) lists them. Commands that take ARGS are
# not echoed: ARGS may hold `tracking.server.password=...`.
# The first target that needs it creates .venv and installs the project into it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=
# make sweep / make report: a file of experiments/; make tune: worker processes on one
# Optuna storage; make ui and make dashboard: their ports on 127.0.0.1 (make ui's default is
# the config's tracking.ui_url).
EXPERIMENT     ?= optimizers
WORKERS        ?= 1
PORT           ?=
DASHBOARD_PORT ?= 8080
# make serve: a run id or a model URI (models:/NAME@ALIAS); empty: the latest trained model.
MODEL          ?=
SERVE_PORT     ?= 5002
# make user: the new MLflow account's name and what it may do
NAME           ?=
ROLE           ?= reader
# make test / make test-all: pytest-xdist worker processes (0: all tests in pytest's own process)
TEST_WORKERS   ?= 2
# Whole files per worker, in collection order: tests/conftest.py puts the files marked heavy first.
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.DEFAULT_GOAL := help
.PHONY: help venv lock data data-fashion train sweep report tune ui dashboard postgres chromium server server-stop user cluster cluster-stop slurm sync bench lint format test test-system test-cluster test-all clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# constraints.txt pins every package to the versions tested (pip freeze of a fresh install).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

lock: ## Refresh constraints.txt: the newest versions pyproject.toml admits, installed in a scratch venv, frozen
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable > constraints.txt
	rm -rf .lock-venv

venv: $(STAMP) ## Create the virtual environment and install the project (once)

data: $(STAMP) ## Fetch and cache MNIST as verified uint8 arrays (once)
	$(BIN)/python -m pipeline.data mnist

data-fashion: $(STAMP) ## Install Debian's Fashion-MNIST where apt works, then cache it
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi
	$(BIN)/python -m pipeline.data fashion_mnist

train: data ## Train the seed convnet with Adam on MNIST (extra overrides: ARGS="optimizer=sgd ...")
	@$(BIN)/python -m pipeline.train $(ARGS)

ui: $(STAMP) ## Print links to each experiment's runs, then serve the MLflow UI (tracking.ui_url; PORT=5050; ARGS=overrides)
	@$(BIN)/python -m pipeline.ui $(if $(PORT),tracking.ui_url=http://127.0.0.1:$(PORT)) $(ARGS)

.PHONY: serve
serve: $(STAMP) ## Serve a trained model over HTTP on 127.0.0.1:SERVE_PORT (MODEL=run id or models:/NAME@ALIAS; default: the latest)
	@$(BIN)/python -m pipeline.serve $(if $(MODEL),--model $(MODEL)) --port $(SERVE_PORT) $(ARGS)

# Workers share one Optuna study and one MLflow parent run; each gets its own sampler seed.
tune: data ## Run the default Optuna search, resumable (WORKERS=2: more workers on its storage; ARGS=overrides)
	@pids=""; for i in $$(seq 2 $(WORKERS)); do \
		($(BIN)/python -m pipeline.train experiments=tune hydra.sweeper.sampler.seed=$$((40 + i)) $(ARGS)) & \
		pids="$$pids $$!"; done; \
	$(BIN)/python -m pipeline.train experiments=tune $(ARGS); status=$$?; \
	for pid in $$pids; do wait $$pid || status=1; done; exit $$status

dashboard: $(STAMP) ## Open optuna-dashboard on the search's storage, on 127.0.0.1 (DASHBOARD_PORT=8080)
	@storage=$$($(BIN)/python -m pipeline.dashboard_storage $(ARGS)) && \
	echo "Optuna dashboard at http://127.0.0.1:$(DASHBOARD_PORT)  (storage $$storage)" && \
	$(BIN)/optuna-dashboard "$$storage" --host 127.0.0.1 --port $(DASHBOARD_PORT)

postgres: ## Install PostgreSQL's programs with apt where they are missing (as root)
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq postgresql; \
		else echo "PostgreSQL is missing (apt-get install postgresql): the team stack and its tests need it"; fi; fi

server: $(STAMP) postgres ## Start the team stack: PostgreSQL + mlflow server with accounts, TLS beyond loopback (conf/tracking/server.yaml; ARGS=overrides)
	@$(BIN)/python -m pipeline.stack start $(ARGS)

server-stop: $(STAMP) ## Stop the team stack (its data stays in .stack/)
	@$(BIN)/python -m pipeline.stack stop $(ARGS)

slurm: ## Install Debian's SLURM, munge and MariaDB with apt where they are missing (as root): make cluster needs them
	@if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				slurmctld slurmd slurm-client slurmdbd munge mariadb-server; \
		else echo "SLURM is missing (apt-get install slurmctld slurmd slurm-client slurmdbd munge mariadb-server)"; fi; fi

cluster: $(STAMP) slurm ## Start a SLURM cluster here (as root): controller, accounting, 2 nodes in simulated hosts, for hydra/launcher=slurm (conf/cluster/local.yaml; ARGS=KEY=VALUE)
	@$(BIN)/python -m pipeline.cluster start $(ARGS)

cluster-stop: $(STAMP) ## Stop the local SLURM cluster: cancel its jobs, end its daemons (its state stays in .cluster/)
	@$(BIN)/python -m pipeline.cluster stop $(ARGS)

# The new account's password goes to an owner-only file under .stack/secrets/users/, never to the terminal.
user: $(STAMP) ## Add an MLflow account to the running stack (NAME=alice ROLE=reader|editor; ARGS=overrides)
	@$(BIN)/python -m pipeline.stack add-user $(NAME) --role $(ROLE) $(ARGS)

sweep: data ## Run a named experiment as a multirun (EXPERIMENT=optimizers; see experiments/; ARGS=overrides)
	@$(BIN)/python -m pipeline.train experiments=$(EXPERIMENT) $(ARGS)

report: $(STAMP) ## Compare the latest multirun of EXPERIMENT per arm: table + plots in outputs/reports/ (ARGS="--all --target 0.98")
	@$(BIN)/python -m pipeline.report $(EXPERIMENT) $(ARGS)

sync: $(STAMP) ## Deliver what runs queued while their tracking store was away (RUN=a run or multirun folder, else every run; ARGS=overrides)
	@$(BIN)/python -m pipeline.sync $(if $(RUN),$(RUN),--all) $(ARGS)

bench: data ## Benchmarks against baselines measured in the same run, and the tables of docs/performance.md made from them (about 30 min; ARGS="--sections throughput"; searches, about 2.5 h: ARGS="--sections search multirun search_parallel")
	$(BIN)/python -m pipeline.bench --docs $(ARGS)

chromium: ## Install Debian's Chromium with apt where it is missing (as root): the browser check of the UI links
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "Chromium is missing (apt-get install chromium): the browser test will skip"; fi; fi

lint: $(STAMP) ## Check the code with ruff: lint rules and formatting (pyproject.toml); `make format` applies the formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## Format the code with ruff, and apply ruff's safe lint fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint data postgres chromium ## Lint, then run the fast test suite (real MLflow and PostgreSQL servers and a headless browser included; TEST_WORKERS=2)
	$(PYTEST) $(ARGS)

test-system: data postgres slurm ## Run the whole-system tests, which CI runs after make test: the team stack, servers stopped or restarted, kills and signals, simulated hosts (as root), and the slow ones (a served model, the benchmark's sections)
	$(PYTEST) -m 'system or cluster or slow' $(ARGS)

test-cluster: data postgres slurm ## Run only the tests on simulated hosts (network namespaces, as root): the team stack across machines
	$(PYTEST) -m cluster $(ARGS)

test-all: data postgres chromium slurm ## Run every test, slow and cluster ones included
	$(PYTEST) -m '' $(ARGS)

clean: ## Remove run outputs (keeps the data cache, the MLflow store and the venv)
	rm -rf outputs .pytest_cache
