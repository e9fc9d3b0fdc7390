"""The VirtualService route a step acts on: the params that name it, shared by the three tasks."""
from __future__ import annotations

import re

from interlock_steps import runtime as rt

from .kube import IstioApi, api_version

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def dns_label(text: str) -> str:
    """Param parser for a namespace (RFC 1123 label, at most 63 characters)."""
    value = text.strip()
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError("expected a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)")
    return value


def dns_subdomain(text: str) -> str:
    """Param parser for an object name (RFC 1123 subdomain, at most 253 characters)."""
    value = text.strip()
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError("expected a Kubernetes object name (lower-case letters, digits, '-' and '.')")
    return value


PARAMS = [
    rt.param("namespace", dns_label, required=True, help="namespace of the VirtualService"),
    rt.param("virtualservice", dns_subdomain, required=True, help="name of the VirtualService"),
    rt.param("route", default="", help="name of the HTTP route; empty: the only route with exactly these destinations"),
    rt.param("api-version", api_version, default="v1", help="networking.istio.io version: v1 (v1beta1 accepted)"),
    rt.param("kubeconfig-dir", default="", help="bound kubeconfig workspace path; empty: in-cluster ServiceAccount"),
]


def connect(step: rt.Step, deadline: rt.Deadline | None = None) -> IstioApi:
    p = step.params
    return IstioApi.connect(step, p.namespace, p.api_version, p.kubeconfig_dir, deadline=deadline)


def label(step: rt.Step) -> str:
    return f"virtualservice/{step.params.namespace}/{step.params.virtualservice}"
