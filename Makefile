# Interlock's verbs. `make demo` and `make test` are the quick start: each installs what it
# needs first (scripts/setup.sh is idempotent), so both work on a fresh Debian 12 machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
INTERLOCK := $(BIN)/interlock
export CONTAINERS_CONF ?= $(CURDIR)/scripts/containers.conf
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup demo test lint check images bench lock
help:  ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup:  ## install apt packages, the pinned venv and npm tools (idempotent)
	@bash scripts/setup.sh

images: setup  ## build the step images (base, tools, looker, istio, vertex)
	@$(INTERLOCK) images build

lint: setup  ## lint every Task, Pipeline, sample and test YAML
	@$(INTERLOCK) lint

check: setup  ## generated files are up to date (catalog.yaml, README tables, image pins)
	@$(INTERLOCK) index --check
	@$(INTERLOCK) docs --check

test: setup  ## everything: lint, drift checks, images, unit/contract/task/pipeline tests
	@$(INTERLOCK) lint
	@$(INTERLOCK) index --check
	@$(INTERLOCK) docs --check
	@$(INTERLOCK) images build
	@$(BIN)/python -m pytest

demo: setup  ## build the images and run looker-refresh locally against the fake Looker
	@$(BIN)/python -m interlock.demo

bench: setup  ## benchmarks: runner overhead, pipeline parallelism, Looker warming, Istio canary
	@$(BIN)/python -m interlock.bench

lock: setup  ## re-pin requirements/*.txt from pyproject.toml (hashed)
	@$(BIN)/python -m pip install -q uv==0.13.9
	@for x in looker istio vertex dev; do \
	  $(BIN)/uv pip compile -q pyproject.toml --extra $$x --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_36 --generate-hashes --no-header -o requirements/$$x.txt; done
