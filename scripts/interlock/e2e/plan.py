"""The kind e2e plan: every command and every manifest, built from the repository alone (no
cluster, no network), so `interlock e2e --plan` prints it and tests check it.

The cluster follows Tekton's own CI (tektoncd/pipeline hack/setup-kind.sh) and kind's local
registry guide: a `registry:2` container named `registry.local` on the kind network, containerd
told to pull `registry.local:5000` over HTTP (hosts.toml under config_path), and the runner's
/etc/hosts mapping registry.local to 127.0.0.1 so podman and oras push to it over loopback.
Tekton's bundles resolver (go-containerregistry) speaks plain HTTP to `*.local` hosts by itself.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interlock import catalog, paths, yaml_dump
from interlock.e2e.fakes import FAKES, Fake, fake_for
from interlock.images import provenance
from interlock.images.spec import version

# Tekton Pipelines LTS releases supported on 2026-11-28 (tektoncd/pipeline releases.md; an LTS
# every quarter, each supported for a year): add the next one, drop the one past its end of life.
TEKTON_LTS = ("v1.9.0", "v1.12.0", "v1.15.0")
KIND_NODE = "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d"  # kind v0.33.0
CLUSTER = "interlock-e2e"
NAMESPACE = "interlock-e2e"
REGISTRY_HOST, REGISTRY_PORT = "registry.local", 5000
REGISTRY = f"{REGISTRY_HOST}:{REGISTRY_PORT}"
FAKES_IMAGE = "interlock/fakes:e2e"
WORK = Path("build") / "e2e"
EXPECTATIONS = Path("tests") / "e2e" / "expectations.yaml"
TIMEOUT = "600s"


class PlanError(ValueError):
    """The repository cannot be turned into an e2e run (a sample without expectations, ...)."""


@dataclass(frozen=True)
class Write:
    path: str            # relative to the repository root
    text: str


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    stdin: str | None = None


@dataclass(frozen=True)
class Expect:
    kind: str            # taskrun | pipelinerun
    name: str
    results: dict[str, str]


@dataclass
class Section:
    title: str
    actions: list[Write | Run | Expect] = field(default_factory=list)


def service_url(fake: Fake) -> str:
    return f"http://fake-{fake.name}.{NAMESPACE}.svc.cluster.local:{fake.port}"


def kind_config() -> dict:
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane", "image": KIND_NODE}],
            "containerdConfigPatches": ['[plugins."io.containerd.grpc.v1.cri".registry]\n'
                                        '  config_path = "/etc/containerd/certs.d"']}


RESTRICTED = {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False,
              "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def fake_manifests(fake: Fake) -> list[dict]:
    """Secret (its credentials), Deployment and Service of one fake."""
    name, labels = f"fake-{fake.name}", {"app.kubernetes.io/name": f"fake-{fake.name}"}
    found = []
    if fake.secret:
        found.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": fake.secret, "namespace": NAMESPACE},
                      "type": "Opaque", "stringData": dict(fake.credentials)})
    container = {"name": "fake", "image": f"{REGISTRY}/{FAKES_IMAGE}", "imagePullPolicy": "Always",
                 "command": ["python3", "-m", fake.module, "--in-container", "--port", str(fake.port)],
                 "ports": [{"containerPort": fake.port}],
                 "readinessProbe": {"tcpSocket": {"port": fake.port}, "periodSeconds": 1},
                 "securityContext": RESTRICTED}
    found.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
                  "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}})
    found.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
                  "spec": {"selector": labels, "ports": [{"port": fake.port, "targetPort": fake.port}]}})
    return found


def fakes_build(tag: str = f"localhost/{FAKES_IMAGE}", root: Path = Path(".")) -> tuple[str, ...]:
    """podman build of the fakes image (paths from `root`), reproducible like the step images."""
    epoch = provenance.of([paths.ROOT / "tests" / "fakes"]).epoch
    return ("podman", "build", "--pull=never", "--timestamp", str(epoch),
            "--build-arg", f"BASE=localhost/interlock/base:{version()}",
            "-f", str(root / "tests" / "fakes" / "Containerfile"), "-t", tag, str(root / "tests"))


def _bundle_ref(kind: str, name: str, ver: str) -> dict:
    folder = catalog.KIND_FOLDERS[kind]
    return {"resolver": "bundles", "params": [
        {"name": "bundle", "value": f"{REGISTRY}/interlock/{folder}/{name}:{ver}"},
        {"name": "name", "value": name}, {"name": "kind", "value": kind.lower()}]}


def _dns_name(*parts: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(("e2e", *parts)).lower())[:63].strip("-")


def cluster_run(sample: Path, doc: dict, url_for: Callable[[Fake], str] = service_url) -> tuple[dict, list[Fake]]:
    """A sample TaskRun/PipelineRun as the cluster runs it: its Task/Pipeline from the bundles
    resolver, the fakes' URLs (`url_for`) and settings in its params. Returns it and the fakes it
    uses. (`interlock run` runs the same document locally: it answers the bundles resolver from
    the catalog.)"""
    kind_folder, name, ver = sample.relative_to(paths.ROOT).parts[:3]
    kind = {folder: kind for kind, folder in catalog.KIND_FOLDERS.items()}[kind_folder]
    run = copy.deepcopy(doc)
    ref_key = "taskRef" if run["kind"] == "TaskRun" else "pipelineRef"
    spec = run["spec"]
    if ref_key not in spec:
        raise PlanError(f"{sample.relative_to(paths.ROOT)}: spec.{ref_key} missing: samples run the catalog's "
                        f"{kind} through the bundles resolver")
    spec[ref_key] = _bundle_ref(kind, name, ver)
    run["metadata"] = {"name": _dns_name(name, ver, sample.stem), "namespace": NAMESPACE}
    params = spec.setdefault("params", [])
    if run["kind"] == "TaskRun":
        fake = fake_for(name)
        fakes = [fake] if fake else []
        overrides = {k: v.format(url=url_for(fake)) for k, v in fake.params.items()} if fake else {}
    else:  # a pipeline: every fake whose param names the PipelineRun passes
        given = {p["name"] for p in params}
        fakes = [f for f in FAKES if given & set(f.params)]
        overrides = {k: v.format(url=url_for(f)) for f in fakes for k, v in f.params.items() if k in given}
    for key, value in overrides.items():
        found = next((p for p in params if p["name"] == key), None)
        if found:
            found["value"] = value
        else:
            params.append({"name": key, "value": value})
    return run, fakes


def samples() -> list[Path]:
    found = []
    for folder in catalog.KIND_FOLDERS.values():
        found += sorted((paths.ROOT / folder).glob("*/*/samples/*.yaml"))
    return [p for p in found if (catalog.load_yaml(p).get("kind") in ("TaskRun", "PipelineRun"))]


def expectations() -> dict[str, dict[str, str]]:
    """sample path -> {result: value} it must produce against the fakes (tests/e2e/expectations.yaml)."""
    path = paths.ROOT / EXPECTATIONS
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {str(sample): {str(r): str(v) for r, v in (results or {}).items()}
            for sample, results in (data or {}).items()}


def build(tekton: str) -> list[Section]:
    """The whole e2e run against Tekton Pipelines `tekton` (one of TEKTON_LTS, or any release tag)."""
    if not re.match(r"^v\d+\.\d+\.\d+$", tekton):
        raise PlanError(f"--tekton {tekton!r}: expected a release tag like {TEKTON_LTS[-1]}")
    expected = expectations()
    runs = []
    for sample in samples():
        rel = sample.relative_to(paths.ROOT).as_posix()
        if rel not in expected or not expected[rel]:
            raise PlanError(f"{rel}: no expected results in {EXPECTATIONS}: the e2e run asserts result values, "
                            "not just Succeeded")
        runs.append((rel, *cluster_run(sample, catalog.load_yaml(sample)), expected[rel]))
    pipelines = [r for r in catalog.resources() if r.kind == "Pipeline"]
    covered = {Path(rel).parts[1] for rel, *_ in runs if rel.startswith("pipelines/")}
    missing = [p.name for p in pipelines if p.name not in covered]
    if missing:
        raise PlanError(f"pipeline(s) without a sample PipelineRun: {', '.join(missing)} (add samples/*.yaml)")

    node = f"{CLUSTER}-control-plane"
    kubectl = ("kubectl", "--context", f"kind-{CLUSTER}")
    ns = ("-n", NAMESPACE)
    sections = [
        Section("Tools", [Run(("kind", "version")), Run(("kubectl", "version", "--client")),
                          Run(("docker", "version", "--format", "{{.Server.Version}}")), Run(("podman", "--version"))]),
        Section(f"Local registry {REGISTRY} (registry:2 on the kind network, loopback for this machine)", [
            Run(("sh", "-c", f"grep -q ' {REGISTRY_HOST}$' /etc/hosts || "
                             f"echo '127.0.0.1 {REGISTRY_HOST}' | sudo tee -a /etc/hosts")),
            Run(("docker", "run", "-d", "--restart=always", "-p", f"127.0.0.1:{REGISTRY_PORT}:5000",
                 "--name", REGISTRY_HOST, "registry:2"))]),
        Section(f"kind cluster {CLUSTER}", [
            Write(f"{WORK}/kind.yaml", yaml_dump.dump(kind_config())),
            Run(("kind", "create", "cluster", "--name", CLUSTER, "--config", f"{WORK}/kind.yaml", "--wait", "180s")),
            Run(("docker", "network", "connect", "kind", REGISTRY_HOST)),
            Run(("docker", "exec", node, "mkdir", "-p", f"/etc/containerd/certs.d/{REGISTRY}")),
            Run(("docker", "exec", "-i", node, "cp", "/dev/stdin", f"/etc/containerd/certs.d/{REGISTRY}/hosts.toml"),
                stdin=f'[host."http://{REGISTRY}"]\n')]),
        Section(f"Tekton Pipelines {tekton}", [
            Run((*kubectl, "apply", "-f", f"https://github.com/tektoncd/pipeline/releases/download/{tekton}/release.yaml")),
            Run((*kubectl, "wait", "-n", "tekton-pipelines", "--for=condition=Available", "deployment", "--all",
                 "--timeout=300s")),
            Run((*kubectl, "wait", "-n", "tekton-pipelines-resolvers", "--for=condition=Available", "deployment",
                 "--all", "--timeout=300s")),
            Run((*kubectl, "patch", "configmap", "resolvers-feature-flags", "-n", "tekton-pipelines-resolvers",
                 "--type", "merge", "-p", '{"data":{"enable-bundles-resolver":"true"}}'))]),
        Section("Step images and bundles, pinned to the registry's digests", [
            Run((".venv/bin/interlock", "images", "build")),
            Run((".venv/bin/interlock", "images", "push", "--registry", REGISTRY)),
            Run((".venv/bin/interlock", "images", "pin", "--registry", REGISTRY)),
            Run((".venv/bin/interlock", "stepactions")),
            Run((".venv/bin/interlock", "bundle", "push", "--registry", REGISTRY, "--allow-dirty")),
            Run((".venv/bin/interlock", "bundle", "verify"))]),
    ]
    fakes_section = Section("Fakes as pods (one image, tests/fakes/Containerfile, on the base image)", [
        Run(fakes_build()),
        Run(("podman", "push", "--tls-verify=false", f"localhost/{FAKES_IMAGE}", f"{REGISTRY}/{FAKES_IMAGE}"))])
    manifests: list[tuple[str, dict]] = [("namespace.yaml", {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": NAMESPACE}})]
    for fake in FAKES:
        manifests += [(f"fake-{fake.name}-{m['kind'].lower()}.yaml", m) for m in fake_manifests(fake)]
    run_files = [(f"run-{run['metadata']['name']}.yaml", run) for _, run, _, _ in runs]
    writes = [Write(f"{WORK}/{name}", yaml_dump.dump(doc)) for name, doc in manifests + run_files]
    sections.append(Section("Manifests (each passes `interlock lint`)", [
        *writes, Run((".venv/bin/interlock", "lint", *(w.path for w in writes)))]))
    fakes_section.actions += [Run((*kubectl, "apply", "-f", f"{WORK}/{name}")) for name, _ in manifests]
    fakes_section.actions += [Run((*kubectl, "rollout", "status", *ns, f"deployment/fake-{f.name}", "--timeout=180s"))
                              for f in FAKES]
    # Pipelines name their Tasks; those resolve in the namespace
    tasks = [r for r in catalog.resources() if r.kind == "Task"]
    fakes_section.actions += [Run((*kubectl, "apply", *ns, "-f", r.relpath)) for r in tasks] if pipelines else []
    sections.append(fakes_section)
    checks = Section("Every sample and pipeline through the bundles resolver, asserting result values")
    for rel, run, _, results in runs:
        kind, name = run["kind"].lower(), run["metadata"]["name"]
        checks.actions += [
            Run((*kubectl, "create", "-f", f"{WORK}/run-{name}.yaml")),
            # done, passed or failed (waiting for Succeeded=True would sit out the timeout on a failure)
            Run((*kubectl, "wait", *ns, "--for=jsonpath={.status.completionTime}", f"{kind}/{name}",
                 f"--timeout={TIMEOUT}")),
            Expect(kind, name, results)]
    sections.append(checks)
    return sections


def teardown() -> Section:
    return Section("Teardown", [Run(("kind", "delete", "cluster", "--name", CLUSTER)),
                                Run(("docker", "rm", "-f", REGISTRY_HOST))])
