# Omnichannel messaging platform: `make dev` runs the local stack, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 3000
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install browser dev test unit integration infra lint typecheck build synth openapi bench invoke chat clean
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## Create the virtualenv and install everything (also done by every target)

$(CHROMIUM) $(CHROMEDRIVER):
	$(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver)

browser: $(CHROMIUM) $(CHROMEDRIVER) ## Install Debian's Chromium and ChromeDriver (browser tests; no browser downloads)

dev: $(STAMP) ## Run the local stack on http://127.0.0.1:$(PORT) (moto server, gateway, pollers, Graph emulator, WebSocket API)
	PORT=$(PORT) $(PY) -m infra.local.stack

test: $(STAMP) $(CHROMIUM) $(CHROMEDRIVER) ## Run every test: unit, integration (moto server + Graph emulator), infra (synthesized template), load
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests --ignore=tests/load
	$(PY) -m pytest -q tests/load  # own process and stack: a large broadcast (BROADCAST_LOAD_N, default 5000)

unit: $(STAMP) ## Unit tests only (no network)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP) $(CHROMIUM) $(CHROMEDRIVER) ## Integration tests against moto server and the Graph emulator
	$(PY) -m pytest -q tests/integration

infra: $(STAMP) ## Infra tests on the synthesized CloudFormation template (cdk-nag, cfn-lint)
	$(PY) -m pytest -q tests/infra

lint: $(STAMP) ## ruff
	$(PY) -m ruff check shared functions infra tests bench

typecheck: $(STAMP) ## mypy (strict on shared/)
	$(PY) -m mypy shared functions

build: $(STAMP) ## Build the Lambda code asset and dependency layer into .build/ (no Docker)
	$(PY) -m infra.build_assets

synth: $(STAMP) ## Synthesize the CDK app offline into cdk.out/ (no Docker, no AWS credentials)
	$(PY) -m infra.app

openapi: $(STAMP) ## Regenerate docs/openapi.json from the code (CI fails when it drifts)
	$(PY) -m functions.api.openapi_dump

bench: $(STAMP) ## Run the benchmarks and rewrite BENCHMARKS.md
	$(PY) -m bench.run

invoke: $(STAMP) ## Invoke one handler with a sample event: make invoke FN=whatsapp_webhook EVENT=events/apigw/post_text.json
	$(PY) -m bench.invoke $(FN) $(EVENT)

chat: $(STAMP) ## Chat as a WhatsApp user with the running local stack (start `make dev` first)
	PORT=$(PORT) $(PY) -m infra.local.chat

clean: ## Remove build outputs and caches (keeps the virtualenv)
	rm -rf .build cdk.out .pytest_cache .mypy_cache .ruff_cache
