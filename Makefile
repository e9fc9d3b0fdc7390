# Interlock's verbs. `make demo` and `make test` are the quick start: each installs what it
# needs first (scripts/setup.sh is idempotent), so both work on a fresh Debian 12 machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
INTERLOCK := $(BIN)/interlock
export CONTAINERS_CONF ?= $(CURDIR)/scripts/interlock/containers.conf
export PYTHONDONTWRITEBYTECODE := 1
# Tests that check against ../shared/reference (upstream specs) fail rather than skip when it is
# missing; `make test REQUIRE_REFERENCE=` lets them skip (a clone without it).
REQUIRE_REFERENCE ?= 1

.PHONY: help setup demo test lint check images bench lock publish registry e2e-plan
help:  ## list the verbs
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

setup:  ## install apt packages, the pinned venv and npm tools (idempotent)
	@bash scripts/setup.sh

images: setup  ## build the step images (base, tools, looker, istio, vertex)
	@$(INTERLOCK) images build

lint: setup  ## lint every Task, Pipeline, sample and test YAML
	@$(INTERLOCK) lint

check: setup  ## generated files are up to date (catalog.yaml, README tables, StepActions); no breaking change in a published version
	@$(INTERLOCK) index --check
	@$(INTERLOCK) docs --check
	@$(INTERLOCK) stepactions --check
	@$(INTERLOCK) versions

test: setup  ## everything: lint, drift checks, images, unit/contract/task/pipeline tests
	@$(INTERLOCK) lint
	@$(INTERLOCK) index --check
	@$(INTERLOCK) docs --check
	@$(INTERLOCK) stepactions --check
	@$(INTERLOCK) versions
	@$(INTERLOCK) images build
	@INTERLOCK_REQUIRE_REFERENCE=$(REQUIRE_REFERENCE) $(BIN)/python -m pytest

demo: setup  ## run the flagship pipeline locally against fakes of Vertex AI, Istio and Looker (SCENARIO=bad-canary: a roll-back)
	@$(BIN)/python -m interlock.demo --scenario $(or $(SCENARIO),release)

publish: setup  ## push images and bundles to REGISTRY=host[:port][/path], pin the Tasks to the pushed images, record bundle digests in catalog.yaml
	@test -n "$(REGISTRY)" || { echo "usage: make publish REGISTRY=host[:port][/path] [ALLOW_DIRTY=1]" >&2; exit 2; }
	@$(INTERLOCK) images build
	@$(INTERLOCK) images push --registry $(REGISTRY)
	@$(INTERLOCK) images pin --registry $(REGISTRY)
	@$(INTERLOCK) stepactions
	@$(INTERLOCK) index
	@if [ -z "$(ALLOW_DIRTY)" ] && ! git diff --quiet -- tasks pipelines; then \
	  echo "The Task pins now name $(REGISTRY): commit tasks/, pipelines/, stepactions/ and catalog.yaml," >&2; \
	  echo "then run make publish again (a bundle records the commit it holds; ALLOW_DIRTY=1 skips that)." >&2; exit 1; fi
	@$(INTERLOCK) bundle push --registry $(REGISTRY) $(if $(ALLOW_DIRTY),--allow-dirty)
	@$(INTERLOCK) bundle verify

registry: setup  ## serve a throw-away OCI registry on 127.0.0.1 (prints its address; Ctrl-C stops it)
	@$(BIN)/python -m interlock.registry

e2e-plan: setup  ## print every command the kind e2e harness would run (it runs in CI: scripts/e2e-kind.sh)
	@$(INTERLOCK) e2e --plan

bench: setup  ## benchmarks: runner overhead, pipeline parallelism, Looker warming, Istio canary, Vertex AI
	@$(BIN)/python -m interlock.bench

lock: setup  ## re-pin requirements/*.txt from pyproject.toml (hashed)
	@$(BIN)/python -m pip install -q uv==0.13.9
	@for x in looker istio vertex dev; do \
	  $(BIN)/uv pip compile -q pyproject.toml --extra $$x --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_36 --generate-hashes --no-header -o requirements/$$x.txt; done
