#!/usr/bin/env bash
# Installs everything Interlock's tools and tests need on Debian 12, as root, idempotently:
# Debian packages (podman, runc, prometheus, …), the pinned npm linter, the Python venv from hashed locks.
# Each part is skipped when it is already in place; every part says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# docker-registry: the CNCF distribution registry, run on loopback by tests and demos (interlock.registry);
# skopeo: a second, independent OCI client (Go, containers/image) that tests read bundles back with
# catatonit: `podman run --init`, so a step is not PID 1 and dies on SIGTERM as under Tekton's entrypoint
# prometheus: the real Prometheus (and promtool) the Istio tests scrape the mesh simulator with
APT_PACKAGES=(podman runc catatonit uidmap python3-venv nodejs npm make git ca-certificates docker-registry skopeo prometheus)
TEKTON_LINT_VERSION=1.1.0   # @ibm/tekton-lint, pinned

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  # node/npm may come from elsewhere (nodesource, nvm); only install Debian's when absent
  want=()
  for p in "${missing[@]}"; do
    case $p in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null || want+=("$p") ;; *) want+=("$p") ;; esac
  done
  if ((${#want[@]})); then
    say "apt: installing ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  fi
fi
# The package enables a system-wide registry on port 5000 where systemd runs; Interlock only
# starts its own, on loopback, with a temporary folder, so keep the system one off.
if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
  say "systemd: disabling the docker-registry service (tests start their own on 127.0.0.1)"
  systemctl disable --now --quiet docker-registry
fi
# The image builder resolves .debs from apt's package lists: make sure there are some.
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  say "apt: no package lists yet, running apt-get update"
  apt-get update -qq
fi
say "apt packages present: ${APT_PACKAGES[*]}"

# Python venv from the hashed lock; re-installed only when the lock changes.
PY=${PYTHON:-python3}
stamp=.venv/.lock-$(sha256sum requirements/dev.txt pyproject.toml | sha256sum | cut -c1-16)
if [[ ! -e $stamp ]]; then
  say "python: creating .venv from requirements/dev.txt (hashed, pinned)"
  [[ -x .venv/bin/python ]] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  # --no-deps: the lock is complete (uv resolved it) and leaves out on purpose what pyproject.toml
  # excludes (the high-level Vertex SDK's dependencies); pip would try to add them back
  .venv/bin/python -m pip install -q --no-deps --require-hashes -r requirements/dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.lock-* && touch "$stamp"
fi
say "python: .venv ready ($(.venv/bin/python --version))"

# npm: the second-opinion Tekton linter, pinned, installed into the project (.tools/node).
if [[ ! -x .tools/node/node_modules/.bin/tekton-lint ]] || \
   ! grep -q "\"version\": \"$TEKTON_LINT_VERSION\"" .tools/node/node_modules/@ibm/tekton-lint/package.json 2>/dev/null; then
  say "npm: installing @ibm/tekton-lint@$TEKTON_LINT_VERSION into .tools/node"
  mkdir -p .tools/node
  npm install --silent --no-audit --no-fund --prefix .tools/node "@ibm/tekton-lint@$TEKTON_LINT_VERSION" >/dev/null
fi
say "npm: tekton-lint $TEKTON_LINT_VERSION ready"
