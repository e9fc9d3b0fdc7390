"""The Kubernetes objects the kind e2e harness creates (besides the samples' own): each fake's pod
and Service, its read access to the API server, the Prometheus that scrapes the mesh, and the
ServiceAccounts, Secrets and ConfigMaps the sample runs name. Every one passes `interlock lint`;
the pods run as Pod Security "restricted" asks."""
from __future__ import annotations

import json

from interlock.e2e.fakes import Fake, fake_named

NAMESPACE = "interlock-e2e"
REGISTRY = "registry.local:5000"
FAKES_IMAGE = "interlock/fakes:e2e"
# Debian's prometheus (2.42) runs the local proof (tests/e2e/test_samples.py); the cluster runs the
# same release from its upstream image, by tag: no registry is reachable here to read its digest
PROMETHEUS_IMAGE = "prom/prometheus:v2.42.0"
PROMETHEUS_NAMESPACE, PROMETHEUS_PORT = "istio-system", 9090   # where Istio's Prometheus add-on lives
SCRAPE_INTERVAL = "1s"
RESTRICTED = {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False,
              "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def fake_url(fake: Fake) -> str:
    return f"http://fake-{fake.name}.{NAMESPACE}.svc.cluster.local:{fake.port}"


def service_url(name: str) -> str:
    """In-cluster base URL of a fake or of `prometheus`."""
    if name == "prometheus":
        return f"http://prometheus.{PROMETHEUS_NAMESPACE}.svc.cluster.local:{PROMETHEUS_PORT}"
    return fake_url(fake_named(name))


def _meta(name: str, namespace: str) -> dict:
    return {"name": name, "namespace": namespace}


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service_account(name: str, ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, ns)}


def secret(name: str, ns: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, ns), "type": "Opaque",
            "stringData": dict(data)}


def config_map(name: str, ns: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, ns), "data": dict(data)}


def _deployment(name: str, ns: str, container: dict, *, account: str | None = None,
                volumes: list[dict] | None = None) -> dict:
    labels = {"app.kubernetes.io/name": name}
    pod: dict = {"containers": [{**container, "securityContext": RESTRICTED}]}
    pod |= {"serviceAccountName": account} if account else {"automountServiceAccountToken": False}
    pod |= {"volumes": volumes} if volumes else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, ns),
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


def _service(name: str, ns: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns),
            "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [{"port": port, "targetPort": port}]}}


def fake_manifests(fake: Fake) -> list[dict]:
    """A fake's Deployment and Service; with `reads`, its ServiceAccount and a Role (get, in that
    namespace only) bound to it."""
    name = f"fake-{fake.name}"
    found: list[dict] = []
    if fake.reads:
        ns, group, resource = fake.reads
        subject = {"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}
        found += [service_account(name, NAMESPACE),
                  {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(name, ns),
                   "rules": [{"apiGroups": [group], "resources": [resource], "verbs": ["get"]}]},
                  {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(name, ns),
                   "subjects": [subject],
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}}]
    container = {"name": "fake", "image": f"{REGISTRY}/{FAKES_IMAGE}", "imagePullPolicy": "Always",
                 "command": fake.command, "ports": [{"containerPort": fake.port}],
                 "readinessProbe": {"tcpSocket": {"port": fake.port}, "periodSeconds": 1}}
    return [*found, _deployment(name, NAMESPACE, container, account=name if fake.reads else None),
            _service(name, NAMESPACE, fake.port)]


def prometheus_config(targets: list[str]) -> dict:
    """prometheus.yml: one job scraping `targets` (host:port) every SCRAPE_INTERVAL."""
    return {"global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
            "scrape_configs": [{"job_name": "mesh", "static_configs": [{"targets": targets}]}]}


def prometheus_manifests(scraped: list[Fake]) -> list[dict]:
    """Prometheus in PROMETHEUS_NAMESPACE scraping the fakes: its config, Deployment and Service."""
    targets = [fake_url(f).split("://", 1)[1] for f in scraped]
    ns, port = PROMETHEUS_NAMESPACE, PROMETHEUS_PORT
    container = {"name": "prometheus", "image": PROMETHEUS_IMAGE,
                 "args": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/data",
                          f"--web.listen-address=:{port}"],
                 "ports": [{"containerPort": port}],
                 "readinessProbe": {"httpGet": {"path": "/-/ready", "port": port}, "periodSeconds": 1},
                 "volumeMounts": [{"name": "config", "mountPath": "/etc/prometheus"},
                                  {"name": "data", "mountPath": "/data"}]}
    volumes = [{"name": "config", "configMap": {"name": "prometheus"}}, {"name": "data", "emptyDir": {}}]
    return [config_map("prometheus", ns, {"prometheus.yml": json.dumps(prometheus_config(targets), indent=2)}),
            _deployment("prometheus", ns, container, volumes=volumes), _service("prometheus", ns, port)]


def prometheus_scraped_command() -> list[str]:
    """Inside the Prometheus pod: wait (up to 120 s) until every target has been scraped once."""
    query = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query?query=up==1"
    return ["sh", "-c", f"i=0; until wget -qO- '{query}' | grep -q '\"result\":\\[{{'; do "
                        "i=$((i+1)); [ $i -lt 120 ] || exit 1; sleep 1; done"]
