"""What the kind e2e harness asserts, proven here: every sample, as the plan rewrites it (bundles
resolver, its integration's params and env), produces the expected result values when
`interlock run` runs it in the real step images against the fakes in the fakes image the harness
deploys, each started with its pod's command.

What stands in here for what is real in the cluster (scripts/interlock/e2e/fakes.py):
- the API server: the fake Kubernetes API on 127.0.0.1 (https, Istio's CRD schemas from the
  reference folder), holding the samples' VirtualService and DestinationRule and enforcing the
  samples' Role and the mesh's Role for their ServiceAccounts' tokens. `interlock run` gives a step
  no ServiceAccount, so a Task that reads the API gets the run's ServiceAccount token through its
  `kubeconfig` workspace; the mesh container gets its token where a pod has it, and the API's
  address from KUBERNETES_SERVICE_HOST/PORT, and runs on the host's network to reach it;
- Prometheus: Debian's, on the host, scraping the mesh container as the cluster's scrapes its Service;
- a Service: a fake's port published on 127.0.0.1;
- a projected workspace (the runner has none): a folder with its ConfigMap's keys and a
  ServiceAccount token for its audience, as the kubelet writes them."""
from __future__ import annotations

import base64
import dataclasses
import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from interlock import catalog, paths
from interlock.e2e import manifests as m
from interlock.e2e import plan
from interlock.e2e.fakes import FAKES, Integration, fill, integration_for
from interlock.images.spec import SPECS
from interlock.podman import podman
from tests.conftest import INTERLOCK
from tests.fakes.google_auth.tokens import subject_token
from tests.fakes.kubernetes import Access, FakeKubernetes, istio_crds
from tests.fakes.kubernetes.tls import self_signed
from tests.fakes.mesh import PrometheusMissing, PrometheusServer

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]
TAG = "localhost/interlock/fakes:test-e2e"
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
STEP_IMAGES = [name for name, spec in SPECS.items() if spec.kind == "wheels"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the fake did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def _folder(path: Path, files: dict[str, str]) -> Path:
    """A folder of files the steps (uid 65532) can read."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    for name, text in files.items():
        (path / name).write_text(text)
        (path / name).chmod(0o644)
    return path


def _user(namespace: str, account: str) -> str:
    return f"system:serviceaccount:{namespace}:{account}"


def _token(user: str) -> str:
    return "token-" + user.replace(":", "-")


def _access(docs: list[dict]) -> Access:
    """Each RoleBinding's ServiceAccounts get a token and their Role's rules, as RBAC grants them."""
    roles = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "Role"}
    access = Access()
    for binding in (d for d in docs if d["kind"] == "RoleBinding"):
        role = roles[(binding["metadata"]["namespace"], binding["roleRef"]["name"])]
        for subject in binding["subjects"]:
            user = _user(subject["namespace"], subject["name"])
            access.tokens[_token(user)] = user
            access.bind_role(role, user)
    return access


class World:
    """The fakes and stand-ins of the samples, running."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.urls: dict[str, str] = {}
        self.containers: list[str] = []
        self.objects = {i.prefix: [catalog.load_yaml(p) for p in plan.sample_objects(i)] for i in plan.INTEGRATIONS}
        rbac = [d for docs in self.objects.values() for d in docs if d["kind"] in ("Role", "RoleBinding")]
        rbac += [d for f in FAKES for d in m.fake_manifests(f) if d["kind"] in ("Role", "RoleBinding")]
        self.tls = self_signed(_folder(tmp / "tls", {}))
        self.kube = FakeKubernetes(istio_crds(paths.REFERENCE), access=_access(rbac), tls=self.tls).start()
        kinds = {crd.kind for crd in self.kube.crds.values()}
        self.served = [d for docs in self.objects.values() for d in docs if d["kind"] in kinds]
        self.prometheus: PrometheusServer | None = None

    def start(self) -> World:
        for fake in FAKES:
            if fake.reads:   # reads the API server on 127.0.0.1: on the host's network, on a free port
                fake = dataclasses.replace(fake, port=_free_port())
                token = _folder(self.tmp / f"{fake.name}-account", {"token": _token(_user(m.NAMESPACE, f"fake-{fake.name}"))})
                host, port = self.kube.url.split("://")[1].split(":")
                network = ["--network", "host", "-e", f"KUBERNETES_SERVICE_HOST={host}",
                           "-e", f"KUBERNETES_SERVICE_PORT={port}", "-v", f"{token / 'token'}:{SA_TOKEN}:ro"]
                published = fake.port
            else:
                published = _free_port()
                network = ["-p", f"127.0.0.1:{published}:{fake.port}"]
            deployment = next(d for d in m.fake_manifests(fake) if d["kind"] == "Deployment")
            [container] = deployment["spec"]["template"]["spec"]["containers"]
            started = podman("run", "-d", "--rm", "--user", "65532:65532", "--cap-drop", "ALL",
                             "--security-opt", "no-new-privileges", *network, TAG, *container["command"])
            self.containers.append(started.stdout.strip())
            _wait_for(published)
            self.urls[fake.name] = f"http://127.0.0.1:{published}"
        scraped = sorted({name for i in plan.INTEGRATIONS for name in i.scraped})
        self.prometheus = PrometheusServer(self.tmp / "prometheus", scrape_interval=m.SCRAPE_INTERVAL,
                                           targets=[self.urls[name].split("://")[1] for name in scraped]).start()
        self.urls["prometheus"] = self.prometheus.url
        return self

    def reset(self, integrations: list[Integration]) -> None:
        """The samples' objects as they are in the samples folders (the harness re-applies them)."""
        for doc in self.served:
            if any(doc in self.objects[i.prefix] for i in integrations):
                self.kube.put(doc)

    def kubeconfig(self, namespace: str, account: str) -> Path:
        ca = base64.b64encode(self.tls[0].read_bytes()).decode()
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "e2e",
                  "clusters": [{"name": "e2e", "cluster": {"server": self.kube.url, "certificate-authority-data": ca}}],
                  "users": [{"name": account, "user": {"token": _token(_user(namespace, account))}}],
                  "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": account, "namespace": namespace}}]}
        return _folder(self.tmp / f"kubeconfig-{namespace}-{account}", {"kubeconfig": yaml.safe_dump(config)})

    def stop(self) -> None:
        for cid in self.containers:
            podman("rm", "-f", cid, check=False)
        if self.prometheus:
            self.prometheus.stop()
        self.kube.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    subprocess.run([INTERLOCK, "images", "build", *STEP_IMAGES], check=True, capture_output=True)
    podman(*plan.fakes_build(TAG, paths.SOURCE)[1:])
    made = World(tmp_path_factory.mktemp("e2e-world"))
    try:
        yield made.start()
    except PrometheusMissing as error:
        pytest.fail(f"{error}: the istio samples need it")
    finally:
        made.stop()
        podman("rmi", TAG, check=False)


def local_args(sample: plan.SampleRun, world: World, tmp: Path) -> list[str]:
    """`interlock run` options standing in for what the cluster gives the run (see the module doc);
    a projected workspace binding is taken out of the run (the runner has none) and bound to a folder."""
    args: list[str] = []
    integrations, account, namespace, spec = sample.integrations, sample.account, sample.namespace, sample.doc["spec"]
    for integration in integrations:
        for name, data in integration.secrets.items():
            args += ["--secret", f"{name}={_folder(tmp / 'secret' / name, data)}"]
        for name, data in integration.configmaps.items():
            filled = {k: fill(v, world.urls.__getitem__) for k, v in data.items()}
            args += ["--configmap", f"{name}={_folder(tmp / 'configmap' / name, filled)}"]
    folder, name, version = Path(sample.sample).parts[:3]
    resource = catalog.find({"tasks": "Task", "pipelines": "Pipeline"}[folder], name, version)
    if account and "kubeconfig" in {w["name"] for w in resource.doc["spec"].get("workspaces") or []}:
        args += ["-w", f"kubeconfig={world.kubeconfig(namespace, account)}"]
    for binding in list(spec.get("workspaces") or []):
        if "projected" in binding:
            spec["workspaces"].remove(binding)
            files: dict[str, str] = {}
            for source in binding["projected"]["sources"]:
                if "configMap" in source:
                    data = next(i.configmaps[source["configMap"]["name"]] for i in integrations
                                if source["configMap"]["name"] in i.configmaps)
                    files |= {k: fill(v, world.urls.__getitem__) for k, v in data.items()}
                if "serviceAccountToken" in source:
                    token = source["serviceAccountToken"]
                    files[token["path"]] = subject_token(_user(namespace, account), audience=token["audience"],
                                                         expires=time.time() + token.get("expirationSeconds", 3600))
            args += ["-w", f"{binding['name']}={_folder(tmp / 'projected' / binding['name'], files)}"]
    return args


SAMPLES = [p.relative_to(paths.ROOT).as_posix() for p in plan.samples()]


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_sample_produces_its_expected_results(sample, world, tmp_path):
    expected = plan.expectations()[sample]
    path = paths.ROOT / sample
    run, integrations = plan.cluster_run(path, catalog.load_yaml(path), url_for=world.urls.__getitem__)
    ref = run["spec"].get("taskRef") or run["spec"]["pipelineRef"]
    assert ref["resolver"] == "bundles"  # interlock run answers it from the catalog
    world.reset(integrations)
    args = local_args(plan.SampleRun(sample, run, tuple(integrations), expected), world, tmp_path)
    file = tmp_path / "run.yaml"
    file.write_text(yaml.safe_dump(run))
    images = [a for name in STEP_IMAGES for a in ("--image-map", f"localhost/interlock/{name}={SPECS[name].ref}")]
    proc = subprocess.run([INTERLOCK, "run", str(file), "-o", "json", "--network", "host", *images, *args],
                          capture_output=True, text=True, timeout=600, cwd=paths.SOURCE)
    outcome = json.loads(proc.stdout) if proc.stdout.strip() else {}
    assert proc.returncode == 0 and outcome["condition"]["status"] == "True", proc.stderr
    results = {k: v if isinstance(v, str) else json.dumps(v) for k, v in outcome["results"].items()}
    assert {k: results.get(k) for k in expected} == expected
    if run["kind"] == "TaskRun":
        assert integration_for(Path(sample).parts[1]) in integrations
