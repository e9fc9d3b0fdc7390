"""Run the Istio steps in-process (their real `main`, the real `kubernetes` client) against the
fake Kubernetes API, reached through a kubeconfig as the kubeconfig workspace would provide it."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from interlock_steps import runtime as rt

from .objects import NAMESPACE, TOKEN
from .support import add_mesh, seeded_kube


@dataclass
class StepRun:
    code: int
    log: str
    results: dict[str, str]
    report: dict | None

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.splitlines() if line.startswith("{")]

    @property
    def error(self) -> str:
        return next((line["msg"] for line in self.lines if line["level"] == "error"), "")


@pytest.fixture
def kube():
    with seeded_kube() as fake:
        yield fake


@pytest.fixture
def kubeconfig_dir(tmp_path, kube) -> Path:
    folder = tmp_path / "kubeconfig"
    folder.mkdir()
    kube.kubeconfig(folder / "kubeconfig", token=TOKEN, namespace=NAMESPACE)
    return folder


@pytest.fixture
def run_step(tmp_path, kubeconfig_dir):
    """run_step(module, *args, **params) -> StepRun; results and report land in tmp_path."""
    def run(module, *args: str, report: bool = False, sleep=None, clock=None, **params: str) -> StepRun:
        results, reports = tmp_path / "results", tmp_path / "report"
        results.mkdir(exist_ok=True)
        reports.mkdir(exist_ok=True)
        for stale in results.iterdir():
            stale.unlink()
        argv = ["--namespace", NAMESPACE, "--virtualservice", "reviews", "--kubeconfig-dir", str(kubeconfig_dir),
                "--results-dir", str(results), "--deadline", "60", "--request-timeout", "5", "--max-retries", "2", *args]
        for name, value in params.items():
            argv += [f"--{name.replace('_', '-')}", value]
        if report:
            argv += ["--report-dir", str(reports)]
        out = io.StringIO()
        extra = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
        code = rt.run_step(module.main, task=module.__name__.rsplit(".", 1)[-1], step="test", params=module.PARAMS,
                           argv=argv, environ={}, stream=out, **extra)
        written = {p.name: p.read_text() for p in results.iterdir() if not p.name.startswith(".")}
        report_file = next(reports.glob("*.json"), None)
        return StepRun(code, out.getvalue(), written, json.loads(report_file.read_text()) if report_file else None)
    return run


@pytest.fixture
def mesh(simulator, prometheus, kube):
    """mesh(canary=Behaviour(...), rps=...) -> a Mesh whose traffic flows until the test ends."""
    made = []

    def make(**options):
        made.append(add_mesh(simulator, prometheus, kube.url, **options))
        return made[-1]

    yield make
    for created in made:
        simulator.remove(created)
