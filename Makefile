# Two commands: `make run` (the demo: a release plan run in virtual time on SQLite) and `make test` (the whole suite).
# Both create .venv and install what they need on the first run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	bash scripts/setup-debian.sh
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flagramp demo

test: lint typecheck layers pytest

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

typecheck: $(STAMP)
	$(BIN)/mypy src tests

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/eval.py
	$(BIN)/python bench/sdk.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/stats_sim.py
	$(BIN)/python bench/flipper_api.py
	$(BIN)/python bench/changes_since.py
	$(BIN)/python bench/flipper_tables.py --backends sqlite,postgres,mariadb
	$(BIN)/python bench/sim.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/events_api.py
	$(BIN)/python bench/propagation.py
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/engine_acceptance.py
	$(BIN)/python bench/kills.py
	$(BIN)/python bench/demo_plans.py
	$(BIN)/python bench/batch_key_retention.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache flagramp.db
