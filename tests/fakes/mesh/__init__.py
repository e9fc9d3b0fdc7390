"""A simulated Istio mesh for tests: traffic split by a VirtualService's live weights, exported as
Istio's metrics for a real Prometheus to scrape (loopback only, never shipped in images).

    from tests.fakes.mesh import Behaviour, Mesh, MeshSimulator, PrometheusServer
    with MeshSimulator() as sim:
        sim.add(Mesh(kube.url, token=..., namespace="shop", virtualservice="reviews", route="primary", rps=50,
                     destinations={"stable": Behaviour("reviews-v1"), "canary": Behaviour("reviews-v2", error_rate=0.05)}))
        with PrometheusServer(tmp, targets=[sim.address]) as prometheus:
            ...
"""
from .mesh import Mesh
from .prometheus import PrometheusMissing, PrometheusServer, Switch, backfill
from .server import MeshSimulator, wait_for
from .traffic import ISTIO_BUCKETS_MS, Behaviour, Latency, Stream

__all__ = ["ISTIO_BUCKETS_MS", "Behaviour", "Latency", "Mesh", "MeshSimulator", "PrometheusMissing", "PrometheusServer",
           "Stream", "Switch", "backfill", "wait_for"]
