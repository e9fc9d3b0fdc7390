"""`interlock e2e`: the catalog in a real Tekton, on a kind cluster, for users' CI.

It has NOT run on the machines this repository is built on (no cluster can run there, and
kind's node images come from a registry they cannot reach): `--plan` prints every command and
manifest without running anything, and that plan is tested. `scripts/e2e-kind.sh` and
.github/workflows/e2e-kind.yaml run it for real.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import click

from interlock import catalog, paths
from interlock.e2e.plan import CLUSTER, TEKTON_LTS, Expect, PlanError, Run, Section, Write, build, teardown


SUCCEEDED = "(Succeeded)"
CONTEXT = f"kind-{CLUSTER}"


def script(sections: list[Section]) -> str:
    """The plan as a shell script a person can read (and run)."""
    lines = ["#!/usr/bin/env bash", "# interlock e2e --plan: every command the kind e2e run makes, in order",
             "set -euo pipefail"]
    made: set[str] = set()
    for i, section in enumerate(sections, 1):
        lines += ["", f"# == {i}. {section.title}"]
        for action in section.actions:
            if isinstance(action, Write):
                folder = str(Path(action.path).parent)
                lines += [] if folder in made else [f"mkdir -p {shlex.quote(folder)}"]
                made.add(folder)
                lines += [f"cat > {shlex.quote(action.path)} <<'EOF'", action.text.rstrip("\n"), "EOF"]
            elif isinstance(action, Run):
                command = shlex.join(action.argv)
                lines += [f"{command} <<'EOF'\n{action.stdin.rstrip()}\nEOF" if action.stdin else command]
            else:
                lines += [f"# check: {action.kind}/{action.name} Succeeded, and its results include "
                          + json.dumps(action.results, sort_keys=True),
                          f"kubectl --context {CONTEXT} get -n {action.namespace} {action.kind} {action.name} "
                          "-o jsonpath='{.status.conditions[0].status} {.status.results}'"]
    return "\n".join(lines) + "\n"


def outcome(kind: str, name: str, namespace: str) -> dict[str, str]:
    """The run's results (arrays and objects as JSON) and, as `(Succeeded)`, its condition."""
    proc = subprocess.run(["kubectl", "--context", CONTEXT, "get", "-n", namespace, kind, name, "-o", "json"],
                          capture_output=True, text=True, check=True)
    status = json.loads(proc.stdout).get("status") or {}
    found = {r["name"]: r["value"] if isinstance(r["value"], str) else json.dumps(r["value"])
             for r in status.get("results") or []}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Succeeded"), {})
    return found | {SUCCEEDED: f"{condition.get('status')} ({condition.get('reason')}: {condition.get('message')})"
                    if condition.get("status") != "True" else "True"}


def execute(sections: list[Section]) -> list[str]:
    """Run every action from the checkout's root; stop at the first failed command. Returns the
    result checks that failed."""
    failed = []
    for i, section in enumerate(sections, 1):
        click.echo(f"== {i}. {section.title}", err=True)
        for action in section.actions:
            if isinstance(action, Write):
                path = paths.SOURCE / action.path
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(action.text, encoding="utf-8")
            elif isinstance(action, Run):
                click.echo(f"$ {shlex.join(action.argv)}", err=True)
                subprocess.run(action.argv, cwd=paths.SOURCE, input=action.stdin, text=True, check=True)
            elif isinstance(action, Expect):
                got = outcome(action.kind, action.name, action.namespace)
                wrong = {k: (v, got.get(k)) for k, v in ({SUCCEEDED: "True"} | action.results).items() if got.get(k) != v}
                verdict = "ok" if not wrong else "FAILED " + ", ".join(
                    f"{k}: expected {want!r}, got {have!r}" for k, (want, have) in wrong.items())
                click.echo(f"   {action.kind}/{action.name}: {verdict}", err=True)
                if wrong:
                    failed.append(f"{action.kind}/{action.name}: {verdict}")
    return failed


@click.command()
@click.option("--tekton", default=TEKTON_LTS[-1], show_default=True,
              help=f"Tekton Pipelines release to install (the CI matrix: {', '.join(TEKTON_LTS)}).")
@click.option("--plan", "plan_only", is_flag=True, help="Print every command and manifest; run nothing.")
@click.option("--keep", is_flag=True, help="Keep the cluster and the registry afterwards (to look around).")
def e2e(tekton: str, plan_only: bool, keep: bool) -> None:
    """Create a kind cluster with a local registry, install Tekton, push the images and bundles,
    deploy the fakes, run every sample and pipeline through the bundles resolver, assert results.

    Needs docker, kind, kubectl and podman (CI: .github/workflows/e2e-kind.yaml). Not run here:
    these machines cannot run a cluster.
    """
    try:
        if paths.ROOT != paths.SOURCE:
            raise PlanError(f"the e2e run proves this checkout's catalog with its own fakes: run it in "
                            f"{paths.SOURCE}, not on {paths.ROOT}")
        sections = build(tekton)
    except (PlanError, catalog.CatalogError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    if plan_only:
        click.echo(script(sections + ([] if keep else [teardown()])), nl=False)
        return
    try:
        failed = execute(sections)
    except subprocess.CalledProcessError as e:
        click.echo(f"error: `{shlex.join(e.cmd)}` failed (exit {e.returncode})", err=True)
        failed = ["a command failed"]
    finally:
        if not keep:
            for action in teardown().actions:
                subprocess.run(action.argv, cwd=paths.SOURCE, check=False)
    if failed:
        for line in failed:
            click.echo(f"error: {line}", err=True)
        sys.exit(1)
    click.echo("e2e: every sample and pipeline produced its expected results", err=True)
