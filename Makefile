# Both entry points create .venv themselves, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo play test test-fast lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ncebot demo

# The demo, then everything left running with the browser playground on http://127.0.0.1:$(PLAY_PORT)/
PLAY_PORT ?= 8765
play: $(STAMP)
	$(BIN)/ncebot demo --keep-running --port $(PLAY_PORT)

# Three pytest workers: the suite mostly waits (processes, sandboxes, Slack stand-ins), so 3 on 2 cores cut it from
# ~9.5 to ~4 minutes; every test has its own database schema, ports and sandbox.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot handlers storage sandbox
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider -n 3

# The fast tier (< 60 s on 2 cores): unit tests of rules, blocks, the client, storage, the sandbox and the workflow
# on SQLite; no HTTP round trips through the app, no processes, no PostgreSQL. `make test` runs everything.
test-fast: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -n 2 -m "not slow and not postgres"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

typecheck: $(STAMP)
	$(BIN)/mypy bot handlers storage sandbox

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.campaign

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
