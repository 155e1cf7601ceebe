# `make run` and `make test` set everything up themselves; see README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run cluster test lint services bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/interaction-center config check
	$(BIN)/interaction-center db upgrade
	@echo
	@echo "Demo logins (POST /api/v1/auth/login): alice / alice-demo and bob / bob-demo (agents),"
	@echo "  sam / sam-demo (supervisor). Try: $(BIN)/interaction-center simulate sms --from +15551230001 'Hello'"
	@echo
	$(BIN)/interaction-center serve

# The demo as three instances behind HAProxy, on a throwaway PostgreSQL and Redis
# (README, "Several instances"); Ctrl-C stops it all.
cluster: install services
	$(BIN)/python scripts/cluster.py

# PostgreSQL and Redis binaries for the throwaway test servers (tests/services.py starts them),
# and Chromium for the chat widget's browser tests.
services:
	@scripts/ensure-services

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install services lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.routing
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.mail_stall
	$(BIN)/python -m bench.voice

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
