#!/usr/bin/env bash
# The catalog in a real Tekton on a kind cluster: a local registry, a pinned Tekton Pipelines
# release and Istio's CRDs, the step images and bundles pushed and pinned, the fakes as pods (and a
# Prometheus), every sample and pipeline run through the bundles resolver with its result values
# asserted. What is real and what is a fake there: scripts/interlock/e2e/fakes.py.
#
#   scripts/e2e-kind.sh [--tekton v1.15.0] [--keep]   # needs docker, kind, kubectl, podman
#   scripts/e2e-kind.sh --plan                         # print every command and manifest, run nothing
#
# It has not run on the machines this repository is built on (no cluster, and kind's node images
# come from a registry they cannot reach); .github/workflows/e2e-kind.yaml runs it in CI.
# The steps live in scripts/interlock/e2e/ (tested through --plan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec .venv/bin/interlock e2e "$@"
