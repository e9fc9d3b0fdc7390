"""Run the Istio steps in-process (their real `main`, the real `kubernetes` client) against the
fake Kubernetes API, reached through a kubeconfig as the kubeconfig workspace would provide it."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from interlock.paths import REFERENCE
from interlock_steps import runtime as rt
from tests.fakes.kubernetes import Access, FakeKubernetes, istio_crds

from .objects import NAMESPACE, TOKEN, USER, destination_rule, virtual_service

ROLE = Path(__file__).resolve().parents[2] / "tasks" / "istio-set-weights" / "0.1" / "samples" / "role.yaml"


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


def access() -> Access:
    """The deployer's token, with exactly the rules of the Task's sample Role in its namespace."""
    granted = Access(tokens={TOKEN: USER})
    granted.bind_role_file(ROLE, USER)
    return granted


@pytest.fixture
def kube():
    with FakeKubernetes(istio_crds(REFERENCE), access=access()) as fake:
        fake.put(virtual_service())
        fake.put(destination_rule())
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


# --- the mesh: a simulator reading the fake API's weights, scraped by one real Prometheus -----

@pytest.fixture(scope="session")
def simulator():
    from tests.fakes.mesh import MeshSimulator

    with MeshSimulator() as sim:
        yield sim


@pytest.fixture(scope="session")
def prometheus(simulator, tmp_path_factory):
    from tests.fakes.mesh import PrometheusMissing, PrometheusServer

    try:
        server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), targets=[simulator.address],
                                  scrape_interval="250ms").start()
    except PrometheusMissing as error:
        pytest.skip(str(error))
    yield server
    server.stop()


_MESHES = iter(range(1, 10_000))


@pytest.fixture
def mesh(simulator, prometheus, kube):
    """mesh(canary=Behaviour(...), rps=...) -> the Mesh, with its own metrics namespace (one per test,
    so tests sharing the Prometheus never see each other's series); traffic flows until the test ends."""
    from tests.fakes.mesh import Behaviour, Mesh

    made = []

    def make(*, canary=None, stable=None, rps: float = 300.0, warm_up: int = 200):
        metrics_namespace = f"mesh-{next(_MESHES)}"
        created = simulator.add(Mesh(kube.url, token=TOKEN, namespace=NAMESPACE, virtualservice="reviews",
                                     route="primary", rps=rps, metrics_namespace=metrics_namespace,
                                     destinations={"stable": stable or Behaviour("reviews-v1", error_rate=0.001),
                                                   "canary": canary or Behaviour("reviews-v2", error_rate=0.001)}))
        made.append(created)
        if warm_up:  # the stable's traffic before the shift, as the latency baseline needs
            query = (f'sum(istio_requests_total{{reporter="destination",destination_workload_namespace="{metrics_namespace}",'
                     f'destination_workload="reviews-v1"}})')
            from tests.fakes.mesh import wait_for

            assert wait_for(lambda: float((prometheus.query(query) or [{"value": [0, "0"]}])[0]["value"][1]) >= warm_up,
                            timeout=30), "the stable's traffic never reached Prometheus"
        return created

    yield make
    for created in made:
        simulator.remove(created)
