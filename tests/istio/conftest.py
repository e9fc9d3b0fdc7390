"""Run the Istio steps in-process (their real `main`, the real `kubernetes` client) against the
fake Kubernetes API, reached through a kubeconfig as the kubeconfig workspace would provide it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.step_run import StepRun, run_step as run_in_process

from .objects import NAMESPACE, TOKEN
from .support import add_mesh, seeded_kube


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
        argv = ["--namespace", NAMESPACE, "--virtualservice", "reviews", "--kubeconfig-dir", str(kubeconfig_dir),
                "--deadline", "60", "--request-timeout", "5", "--max-retries", "2", *args]
        for name, value in params.items():
            argv += [f"--{name.replace('_', '-')}", value]
        extra = {k: v for k, v in (("sleep", sleep), ("clock", clock)) if v is not None}
        return run_in_process(module, argv, tmp_path, report=report, environ={}, **extra)
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
