"""Helpers of the Istio tests, shared with the task-level tests: the deployer's access (the sample
Role, enforced) and a simulated mesh whose stable traffic has reached Prometheus."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from interlock.paths import REFERENCE
from tests.fakes.kubernetes import Access, FakeKubernetes, istio_crds
from tests.fakes.mesh import Behaviour, Mesh, MeshSimulator, PrometheusServer, wait_for

from .objects import NAME, NAMESPACE, TOKEN, USER, destination_rule, virtual_service

ROLE = Path(__file__).resolve().parents[2] / "tasks" / "istio-set-weights" / "0.1" / "samples" / "role.yaml"
_MESHES = itertools.count(1)


def access() -> Access:
    """The deployer's token, with exactly the rules of the Task's sample Role in its namespace."""
    granted = Access(tokens={TOKEN: USER})
    granted.bind_role_file(ROLE, USER)
    return granted


@contextmanager
def seeded_kube(tls: tuple[Path, Path] | None = None) -> Iterator[FakeKubernetes]:
    """The fake API with Istio's CRDs, the sample Role enforced, and shop/reviews with its
    DestinationRule."""
    with FakeKubernetes(istio_crds(REFERENCE), access=access(), tls=tls) as fake:
        fake.put(virtual_service())
        fake.put(destination_rule())
        yield fake


def add_mesh(simulator: MeshSimulator, prometheus: PrometheusServer, api_url: str, *, canary: Behaviour | None = None,
             stable: Behaviour | None = None, rps: float = 300.0, warm_up: int = 200) -> Mesh:
    """A mesh with its own metrics namespace (tests sharing the Prometheus never see each other's
    series), reading the route `primary` of shop/reviews; returns once `warm_up` stable requests
    are in Prometheus (the latency baseline needs the stable's traffic before the shift)."""
    metrics_namespace = f"mesh-{next(_MESHES)}"
    mesh = simulator.add(Mesh(api_url, token=TOKEN, namespace=NAMESPACE, virtualservice=NAME, route="primary", rps=rps,
                              metrics_namespace=metrics_namespace,
                              destinations={"stable": stable or Behaviour("reviews-v1", error_rate=0.001),
                                            "canary": canary or Behaviour("reviews-v2", error_rate=0.001)}))
    if warm_up:
        query = (f'sum(istio_requests_total{{reporter="destination",destination_workload_namespace="{metrics_namespace}",'
                 f'destination_workload="reviews-v1"}})')
        seen = lambda: float((prometheus.query(query) or [{"value": [0, "0"]}])[0]["value"][1])  # noqa: E731
        assert wait_for(lambda: seen() >= warm_up, timeout=30), "the stable's traffic never reached Prometheus"
    return mesh
