"""A fake Kubernetes API server for custom resources (loopback only, never shipped in images).

    from tests.fakes.kubernetes import FakeKubernetes, istio_crds
    with FakeKubernetes(istio_crds(REFERENCE)) as kube:
        kube.put(virtual_service)
        kube.kubeconfig(path)
"""
from .crds import CrdError, CustomResource, istio_crds, load_crds
from .faults import CONCURRENT_ANNOTATION, Fault, Faults, FaultSpecError
from .rbac import Access, Rule
from .server import Call, FakeKubernetes
from .store import Revision

__all__ = [
    "CONCURRENT_ANNOTATION", "Access", "Call", "CrdError", "CustomResource", "FakeKubernetes", "Fault", "FaultSpecError",
    "Faults", "Revision", "Rule", "istio_crds", "load_crds",
]
