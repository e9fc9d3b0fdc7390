"""The kind e2e plan: every command and every manifest, built from the repository alone (no
cluster, no network), so `interlock e2e --plan` prints it and tests check it.

The cluster follows Tekton's own CI (tektoncd/pipeline hack/setup-kind.sh) and kind's local
registry guide: a `registry:2` container named `registry.local` on the kind network, containerd
told to pull `registry.local:5000` over HTTP (hosts.toml under config_path), and the runner's
/etc/hosts mapping registry.local to 127.0.0.1 so podman and oras push to it over loopback.
Tekton's bundles resolver (go-containerregistry) speaks plain HTTP to `*.local` hosts by itself.
What is real and what is a fake in the cluster: fakes.py.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interlock import catalog, paths, yaml_dump
from interlock.e2e import manifests as m
from interlock.e2e.fakes import INTEGRATIONS, Integration, fake_named, fill, integration_for
from interlock.images import provenance
from interlock.images.spec import version

# Tekton Pipelines LTS releases supported on 2026-11-28 (tektoncd/pipeline releases.md; an LTS
# every quarter, each supported for a year): add the next one, drop the one past its end of life.
TEKTON_LTS = ("v1.9.0", "v1.12.0", "v1.15.0")
KIND_NODE = "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d"  # kind v0.33.0
CLUSTER = "interlock-e2e"
NAMESPACE, REGISTRY, FAKES_IMAGE = m.NAMESPACE, m.REGISTRY, m.FAKES_IMAGE
REGISTRY_HOST, REGISTRY_PORT = REGISTRY.split(":")
WORK = Path("build") / "e2e"
# In the checkout (paths.SOURCE): sample path -> {result: value}; see the file's header
EXPECTATIONS = Path("tests") / "e2e" / "expectations.yaml"
TIMEOUT = "600s"
TEKTON_GROUP = "tekton.dev"


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
    namespace: str
    results: dict[str, str]


@dataclass
class Section:
    title: str
    actions: list[Write | Run | Expect] = field(default_factory=list)


@dataclass(frozen=True)
class SampleRun:
    """One sample as the cluster runs it."""
    sample: str                           # its path in the catalog
    doc: dict                             # the TaskRun/PipelineRun, rewritten
    integrations: tuple[Integration, ...]
    expected: dict[str, str]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.doc["metadata"]["namespace"]

    @property
    def file(self) -> str:
        return f"{WORK}/run-{self.name}.yaml"

    @property
    def account(self) -> str | None:
        """The ServiceAccount it runs as (a PipelineRun's through taskRunTemplate)."""
        spec = self.doc["spec"]
        return spec.get("serviceAccountName") or (spec.get("taskRunTemplate") or {}).get("serviceAccountName")


def kind_config() -> dict:
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane", "image": KIND_NODE}],
            "containerdConfigPatches": ['[plugins."io.containerd.grpc.v1.cri".registry]\n'
                                        '  config_path = "/etc/containerd/certs.d"']}


def fakes_build(tag: str = f"localhost/{FAKES_IMAGE}", root: Path = Path(".")) -> tuple[str, ...]:
    """podman build of the fakes image (paths from `root`), reproducible like the step images, on
    the vertex step image (see tests/fakes/Containerfile)."""
    epoch = provenance.of([paths.SOURCE / "tests" / "fakes"]).epoch
    return ("podman", "build", "--pull=never", "--timestamp", str(epoch),
            "--build-arg", f"BASE=localhost/interlock/vertex:{version()}",
            "-f", str(root / "tests" / "fakes" / "Containerfile"), "-t", tag, str(root / "tests"))


def _bundle_ref(kind: str, name: str, ver: str) -> dict:
    folder = catalog.KIND_FOLDERS[kind]
    return {"resolver": "bundles", "params": [
        {"name": "bundle", "value": f"{REGISTRY}/interlock/{folder}/{name}:{ver}"},
        {"name": "name", "value": name}, {"name": "kind", "value": kind.lower()}]}


def _dns_name(*parts: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(("e2e", *parts)).lower())[:63].strip("-")


def _declared(resource: catalog.Resource | None) -> set[str]:
    return {p["name"] for p in catalog.mappings(catalog.mapping((resource.doc if resource else {}).get("spec"))
                                                .get("params")) if "name" in p}


def _pipeline_integrations(pipeline: catalog.Resource | None) -> list[Integration]:
    spec = catalog.mapping((pipeline.doc if pipeline else {}).get("spec"))
    names = {catalog.mapping(t.get("taskRef")).get("name") for key in ("tasks", "finally")
             for t in catalog.mappings(spec.get(key))}
    return [i for i in INTEGRATIONS if any(isinstance(n, str) and i.serves(n) for n in names)]


def cluster_run(sample: Path, doc: dict, url_for: Callable[[str], str] = m.service_url) -> tuple[dict, list[Integration]]:
    """A sample TaskRun/PipelineRun as the cluster runs it: its Task/Pipeline from the bundles
    resolver, in the sample's namespace (else NAMESPACE), with its integrations' params (those the
    Task or Pipeline declares) and podTemplate env, `url_for(name)` giving each fake's or
    service's URL. Returns it and those integrations. (`interlock run` runs the same document
    locally: it answers the bundles resolver from the catalog.)"""
    rel = sample.relative_to(paths.ROOT)
    kind_folder, name, ver = rel.parts[:3]
    kind = {folder: kind for kind, folder in catalog.KIND_FOLDERS.items()}[kind_folder]
    run = copy.deepcopy(doc)
    ref_key = "taskRef" if run["kind"] == "TaskRun" else "pipelineRef"
    spec = run["spec"]
    if ref_key not in spec:
        raise PlanError(f"{rel}: spec.{ref_key} missing: samples run the catalog's {kind} through the bundles resolver")
    spec[ref_key] = _bundle_ref(kind, name, ver)
    run["metadata"] = {"name": _dns_name(name, ver, sample.stem),
                       "namespace": catalog.mapping(doc.get("metadata")).get("namespace") or NAMESPACE}
    resource = catalog.find(kind, name, ver)
    if run["kind"] == "TaskRun":
        integration = integration_for(name)
        integrations = [integration] if integration else []
    else:  # a pipeline: the integrations of the Tasks it runs
        integrations = _pipeline_integrations(resource)
    declared = _declared(resource)
    params = spec.setdefault("params", [])
    for integration in integrations:
        for key, value in integration.params.items():
            if key not in declared:
                continue
            found = next((p for p in params if p["name"] == key), None)
            if found:
                found["value"] = fill(value, url_for)
            else:
                params.append({"name": key, "value": fill(value, url_for)})
    env = [{"name": k, "value": fill(v, url_for)} for i in integrations for k, v in i.env.items()]
    if env:
        holder = spec if run["kind"] == "TaskRun" else spec.setdefault("taskRunTemplate", {})
        holder.setdefault("podTemplate", {}).setdefault("env", []).extend(env)
    return run, integrations


def samples() -> list[Path]:
    found = []
    for folder in catalog.KIND_FOLDERS.values():
        found += sorted((paths.ROOT / folder).glob("*/*/samples/*.yaml"))
    return [p for p in found if (catalog.load_yaml(p).get("kind") in ("TaskRun", "PipelineRun"))]


def sample_objects(integration: Integration) -> list[Path]:
    """The Kubernetes objects (not Tekton's) in the samples folders of the integration's Tasks:
    what its samples act on and run as."""
    found = []
    for resource in catalog.resources():
        if resource.kind == "Task" and integration.serves(resource.name):
            for path in sorted((resource.folder / "samples").glob("*.yaml")):
                api = str(catalog.load_yaml(path).get("apiVersion", ""))
                if api.split("/")[0] != TEKTON_GROUP:
                    found.append(path)
    return found


def expectations() -> dict[str, dict[str, str]]:
    """sample path -> {result: value} it must produce against the fakes (tests/e2e/expectations.yaml)."""
    path = paths.SOURCE / EXPECTATIONS
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    return {str(sample): {str(r): str(v) for r, v in (results or {}).items()}
            for sample, results in (data or {}).items()}


def sample_runs() -> list[SampleRun]:
    """Every sample run, rewritten for the cluster, with the result values it must produce."""
    expected = expectations()
    runs = []
    for sample in samples():
        rel = sample.relative_to(paths.ROOT).as_posix()
        if not expected.get(rel):
            raise PlanError(f"{rel}: no expected results in {EXPECTATIONS}: the e2e run asserts result values, "
                            "not just Succeeded")
        doc, integrations = cluster_run(sample, catalog.load_yaml(sample))
        runs.append(SampleRun(rel, doc, tuple(integrations), expected[rel]))
    covered = {Path(r.sample).parts[1] for r in runs if r.sample.startswith("pipelines/")}
    missing = [r.name for r in catalog.resources() if r.kind == "Pipeline" and r.name not in covered]
    if missing:
        raise PlanError(f"pipeline(s) without a sample PipelineRun: {', '.join(missing)} (add samples/*.yaml)")
    return runs


def _world(runs: list[SampleRun]) -> list[tuple[str, dict]]:
    """(file name, object) of everything the harness creates for the runs, in the order to apply."""
    used = [i for i in INTEGRATIONS if any(i in r.integrations for r in runs)]
    fakes = [fake_named(name) for i in used for name in i.fakes]
    scraped = [fake_named(name) for i in used for name in i.scraped]
    namespaces = {NAMESPACE, *(r.namespace for r in runs), *((m.PROMETHEUS_NAMESPACE,) if scraped else ()),
                  *(f.reads[0] for f in fakes if f.reads),
                  *(str(catalog.mapping(catalog.load_yaml(p).get("metadata")).get("namespace") or NAMESPACE)
                    for i in used for p in sample_objects(i))}
    objects: list[dict] = [m.namespace(ns) for ns in sorted(namespaces)]
    accounts = {(r.account, r.namespace) for r in runs if r.account}
    objects += [m.service_account(name, ns) for name, ns in sorted(accounts)]
    for integration in used:
        for ns in sorted({r.namespace for r in runs if integration in r.integrations}):
            objects += [m.secret(name, ns, data) for name, data in integration.secrets.items()]
            objects += [m.config_map(name, ns, {k: fill(v, m.service_url) for k, v in data.items()})
                        for name, data in integration.configmaps.items()]
    for fake in dict.fromkeys(fakes):
        objects += m.fake_manifests(fake)
    if scraped:
        objects += m.prometheus_manifests(list(dict.fromkeys(scraped)))
    return [(f"{o['kind'].lower()}-{o['metadata'].get('namespace', 'cluster')}-{o['metadata']['name']}.yaml", o)
            for o in objects]


def build(tekton: str) -> list[Section]:
    """The whole e2e run against Tekton Pipelines `tekton` (one of TEKTON_LTS, or any release tag)."""
    if not re.match(r"^v\d+\.\d+\.\d+$", tekton):
        raise PlanError(f"--tekton {tekton!r}: expected a release tag like {TEKTON_LTS[-1]}")
    runs = sample_runs()
    used = [i for i in INTEGRATIONS if any(i in r.integrations for r in runs)]
    node = f"{CLUSTER}-control-plane"
    kubectl = ("kubectl", "--context", f"kind-{CLUSTER}")
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
                 "--type", "merge", "-p", '{"data":{"enable-bundles-resolver":"true"}}')),
            # projected workspaces (vertex-train's Workload Identity Federation sample) are beta
            Run((*kubectl, "patch", "configmap", "feature-flags", "-n", "tekton-pipelines",
                 "--type", "merge", "-p", '{"data":{"enable-api-fields":"beta"}}'))]),
    ]
    crds = [url for i in used for url in i.crds]
    if crds:  # large CRDs: server-side apply (no last-applied annotation over the size limit)
        sections.append(Section("CRDs the samples' objects need (real: the API server validates against them)", [
            *(Run((*kubectl, "apply", "--server-side", "-f", url)) for url in crds),
            Run((*kubectl, "wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"))]))
    sections.append(Section("Step images and bundles, pinned to the registry's digests", [
        Run((".venv/bin/interlock", "images", "build")),
        Run((".venv/bin/interlock", "images", "push", "--registry", REGISTRY)),
        Run((".venv/bin/interlock", "images", "pin", "--registry", REGISTRY)),
        Run((".venv/bin/interlock", "stepactions")),
        Run((".venv/bin/interlock", "bundle", "push", "--registry", REGISTRY, "--allow-dirty")),
        Run((".venv/bin/interlock", "bundle", "verify"))]))
    world = _world(runs)
    writes = [Write(f"{WORK}/{name}", yaml_dump.dump(doc, fold_long_words=True)) for name, doc in world]
    writes += [Write(r.file, yaml_dump.dump(r.doc, fold_long_words=True)) for r in runs]
    objects = {i.prefix: [p.relative_to(paths.ROOT).as_posix() for p in sample_objects(i)] for i in used}
    apply_objects = {prefix: [Run((*kubectl, "apply", *(a for p in found for a in ("-f", p))))] if found else []
                     for prefix, found in objects.items()}
    sections.append(Section("Manifests (each passes `interlock lint`)", [
        *writes, Run((".venv/bin/interlock", "lint", *(w.path for w in writes),
                      *sorted({p for found in objects.values() for p in found})))]))
    deployments = [f"fake-{name}" for i in used for name in i.fakes]
    world_section = Section("The samples' world: fakes as pods (one image, tests/fakes/Containerfile), "
                            "Prometheus, the samples' own objects", [
        Run(fakes_build()),
        Run(("podman", "push", "--tls-verify=false", f"localhost/{FAKES_IMAGE}", f"{REGISTRY}/{FAKES_IMAGE}")),
        *(Run((*kubectl, "apply", "-f", f"{WORK}/{name}")) for name, _ in world),
        *(run for found in apply_objects.values() for run in found),
        *(Run((*kubectl, "rollout", "status", "-n", NAMESPACE, f"deployment/{d}", "--timeout=180s"))
          for d in dict.fromkeys(deployments))])
    if any(i.scraped for i in used):
        prometheus = ("-n", m.PROMETHEUS_NAMESPACE, "deployment/prometheus")
        world_section.actions += [Run((*kubectl, "rollout", "status", *prometheus, "--timeout=180s")),
                                  Run((*kubectl, "exec", *prometheus, "--", *m.prometheus_scraped_command()))]
    # Pipelines name their Tasks; those resolve in the namespace of the PipelineRun
    pipeline_namespaces = sorted({r.namespace for r in runs if r.doc["kind"] == "PipelineRun"})
    world_section.actions += [Run((*kubectl, "apply", "-n", ns, "-f", r.relpath))
                              for ns in pipeline_namespaces for r in catalog.resources() if r.kind == "Task"]
    sections.append(world_section)
    checks = Section("Every sample and pipeline through the bundles resolver, asserting result values "
                     "(each integration's sample objects re-applied first; the fakes keep what earlier runs did)")
    for r in runs:
        kind = r.doc["kind"].lower()
        checks.actions += [run for i in r.integrations for run in apply_objects[i.prefix]]
        checks.actions += [
            Run((*kubectl, "create", "-f", r.file)),
            # done, passed or failed (waiting for Succeeded=True would sit out the timeout on a failure)
            Run((*kubectl, "wait", "-n", r.namespace, "--for=jsonpath={.status.completionTime}", f"{kind}/{r.name}",
                 f"--timeout={TIMEOUT}")),
            Expect(kind, r.name, r.namespace, r.expected)]
    sections.append(checks)
    return sections


def teardown() -> Section:
    return Section("Teardown", [Run(("kind", "delete", "cluster", "--name", CLUSTER)),
                                Run(("docker", "rm", "-f", REGISTRY_HOST))])
