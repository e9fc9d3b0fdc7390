"""The three systems the example pipelines change, as fakes on loopback at once, for the
pipeline-level tests and `make demo`:

- Looker: the fake Looker (checked against Looker's OpenAPI document), its default content plus
  a dashboard about the new model for the warming to work on;
- Istio: the fake Kubernetes API (Istio's CRDs, the sample Role enforced) holding shop/reviews, a
  simulated mesh whose traffic follows the VirtualService's live weights, and a real Prometheus
  scraping it (shared: each World's mesh has its own metrics namespace);
- Vertex AI: the fake Vertex AI (checked against the discovery document) and the Google token
  services; the endpoint `churn` serves version 1 of the model `churn` with all its traffic (the
  scenario the kind e2e harness gives the samples).

The content is what the pipelines' samples name (project my-project, model 1234567890, endpoint
churn, shop/reviews, the ecommerce model...), as the kind e2e harness gives it to them, so a World runs each sample PipelineRun as it is,
with only what points at the fakes (and makes minutes seconds) overridden: `pipelinerun`. It
gives `interlock run` the rest (`command`: workspaces, the Looker Secret, the local images) and
reads back what happened: each system's state (`snapshot`), the calls that changed or checked
something, across systems in time order (`calls`), and the shared audit trail (`audit`).
"""
from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from interlock import catalog
from interlock.images.spec import SPECS
from tests.conftest import INTERLOCK
from tests.fakes.google_auth import FakeGoogleAuth
from tests.fakes.looker import FakeLooker
from tests.fakes.looker.state import LookerState, default_state
from tests.fakes.mesh import Behaviour, MeshSimulator, PrometheusServer
from tests.fakes.vertex import FakeVertex, JobPlan, OperationPlan, VertexState, reference_spec
from tests.fakes.vertex.__main__ import SCENARIOS, load_scenario
from tests.istio.objects import NAME, NAMESPACE, TOKEN
from tests.istio.support import add_mesh, seeded_kube

# what the samples find in Vertex AI: the kind e2e harness's scenario (model 1234567890 version 1
# serving all of endpoint 4567890123 `churn`, as deployed model 1234567890; both churn artifacts
# answer 2 x sum(instance) + 0.5); the new version is vertex-train's model-dir for the samples'
# base-output-directory
VERTEX_SCENARIO = SCENARIOS / "samples.json"
NEW_MODEL = "gs://my-project-ml/runs/churn/model"
# ten golden instances: one per call (batch-size 1), the new version at 10 % answers one of them
GOLDEN = {"instances": [[i, i + 1] for i in range(10)], "predictions": [2.0 * (2 * i + 1) + 0.5 for i in range(10)]}
HEALTHY = Behaviour("reviews-v2", error_rate=0.001)
IMAGES = ("looker", "istio", "vertex")
# the calls that change something, or check something before a change (reads and log-ins left out)
LOOKER_CALLS = {"validate_project", "content_validation", "update_datagroup", "start_pdt_build",
                "create_query_task", "scheduled_plan_run_once_by_id"}


def looker_content() -> LookerState:
    """The default fake Looker, plus dashboard 8 (a dozen tiles about the new model) to warm."""
    state = default_state()
    tiles = [state.element(f"Churn risk {i + 1}", query_id=state.add_query(
        "ecommerce", "users", fields=["users.state", "users.count"], filters={"users.churn_risk": f">{i / 12:.2f}"},
        runtime=0.25 + 0.05 * (i % 4), rows=[{"users.state": "CA", "users.count": 12 - i}]).id) for i in range(12)]
    state.add_dashboard("8", "Churn model adoption", elements=tiles)
    return state


class World:
    """Every fake started (use as a context manager), with the folders the PipelineRun binds."""

    def __init__(self, folder: Path, simulator: MeshSimulator, prometheus: PrometheusServer, *,
                 canary: Behaviour = HEALTHY, rps: float = 300.0, job: JobPlan | None = None,
                 operation_seconds: float = 0.3) -> None:
        self.folder, self.simulator, self.prometheus = folder, simulator, prometheus
        self._canary, self._rps = canary, rps
        self._job = job or JobPlan(pending=0.2, running=0.5)
        self._operation_seconds = operation_seconds
        self._stack = ExitStack()

    def __enter__(self) -> World:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        enter = self._stack.enter_context
        self.looker = enter(FakeLooker(looker_content()))
        self.kube = enter(seeded_kube())
        self.auth = enter(FakeGoogleAuth())
        state = VertexState(time.time)            # wall time, as the other fakes record calls
        load_scenario(VERTEX_SCENARIO, state)
        state.job_plan = self._job
        for kind in state.operation_plans:
            state.operation_plans[kind] = OperationPlan(self._operation_seconds)
        self.vertex = enter(FakeVertex(state, spec=reference_spec()))
        self.mesh = add_mesh(self.simulator, self.prometheus, self.kube.url, canary=self._canary, rps=self._rps)
        self._stack.callback(self.simulator.remove, self.mesh)
        self.workspaces = self._workspaces()
        self.secrets = self._secrets()
        self.start = self.snapshot()

    # --- what interlock run is given -----------------------------------------------------------
    def _folder(self, name: str, mode: int = 0o777) -> Path:
        path = self.folder / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)                            # the steps run as uid 65532
        return path

    def _workspaces(self) -> dict[str, Path]:
        kubeconfig = self._folder("kubeconfig", 0o755)
        self.kube.kubeconfig(kubeconfig / "kubeconfig", token=TOKEN, namespace=NAMESPACE).chmod(0o644)
        credentials = self._folder("gcp-credentials", 0o755)
        (credentials / "token").write_text(self.auth.subject_token())
        (credentials / "credential-config.json").write_text(json.dumps(
            self.auth.external_account_config("/workspace/gcp-credentials/token")))   # where Tekton mounts it
        golden = self._folder("golden", 0o755)
        (golden / "golden.json").write_text(json.dumps(GOLDEN))
        for path in (*credentials.iterdir(), golden / "golden.json"):
            path.chmod(0o644)
        return {"kubeconfig": kubeconfig, "gcp-credentials": credentials, "golden": golden,
                "records": self._folder("records")}     # the pipelines' audit/ and report/ go here

    def _secrets(self) -> dict[str, Path]:
        secret = self._folder("looker-credentials", 0o755)
        for key, value in (("client_id", self.looker.client_id), ("client_secret", self.looker.client_secret)):
            (secret / key).write_text(value)
            (secret / key).chmod(0o644)
        return {"looker-credentials": secret}

    def environment(self) -> dict[str, str]:
        """The params that point at the fakes, and those that make a release's minutes seconds
        (the canary's interval, the polls): what a sample's own values are replaced with."""
        return {"base-url": self.looker.url, "verify-ssl": "false",
                "api-endpoint": self.vertex.url, "poll-interval": "0.2",
                "prometheus-url": self.prometheus.url, "prometheus-tls-verify": "false",
                "metrics-namespace": self.mesh.metrics_namespace,     # this World's series in the shared Prometheus
                "interval": "3s", "check-every": "500ms", "min-requests": "20"}

    def pipelinerun(self, pipeline: str, name: str, **params: str) -> dict:
        """The pipeline's sample PipelineRun, named `name`, its environment params replaced (and
        any param given here set); params the pipeline does not declare are left out."""
        run = catalog.load_yaml(catalog.find("Pipeline", pipeline).folder / "samples" / "pipelinerun.yaml")
        declared = {p["name"] for p in _spec(pipeline).get("params", [])}
        values = {p["name"]: p["value"] for p in run["spec"].get("params", [])}
        values.update({k: v for k, v in {**self.environment(), **params}.items() if k in declared})
        run["metadata"] = {"name": name}
        run["spec"]["params"] = [{"name": k, "value": v} for k, v in values.items()]
        return run

    def command(self, pipeline: str, run_file: Path) -> list[str]:
        """`interlock run -o json` of a PipelineRun file: the pipeline's workspaces bound to this
        World's folders, the Looker Secret, the locally built images, the host network (the fakes)."""
        args = [INTERLOCK, "run", str(run_file), "--network", "host", "-o", "json"]
        for workspace in _spec(pipeline).get("workspaces", []):
            args += ["-w", f"{workspace['name']}={self.workspaces[workspace['name']]}"]
        for name, folder in self.secrets.items():
            args += ["--secret", f"{name}={folder}"]
        for image in IMAGES:
            args += ["--image-map", f"localhost/interlock/{image}={SPECS[image].ref}"]
        return args

    # --- what happened ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What each system serves or holds that a release changes."""
        vs = self.kube.get("virtualservices", NAMESPACE, NAME)
        state = self.vertex.state
        with state.lock:
            state.advance()
            endpoints = {e.name: {"deployed": {i: f"{d['model']}@{d['modelVersionId']}" for i, d in e.deployed.items()},
                                  "traffic": dict(e.traffic)} for e in state.endpoints.values()}
            defaults = {m.name: m.default.version_id for m in state.models.values()}
        looker = self.looker.state
        with looker.lock:
            datagroups = {g.id: (g.stale_before, g.triggered_at) for g in looker.datagroups.values()}
            return {"istio": vs["spec"],
                    "vertex": {"endpoints": endpoints, "default-versions": defaults},
                    "looker": {"datagroups": datagroups, "pdt-builds": len(looker.pdt_builds),
                               "query-tasks": len(looker.runner.tasks), "plan-runs": list(looker.plan_runs)}}

    def calls(self) -> list[tuple[str, str]]:
        """(system, call) of every call that changed or checked something, in time order: Vertex
        AI's writes, the VirtualService's weights as written, Looker's checks and writes."""
        timed = [(c.at, "vertex", c.method) for c in self.vertex.calls
                 if c.http_method != "GET" and c.method != "endpoints.predict" and c.status < 400]
        for revision in self.kube.history("virtualservices", NAMESPACE, NAME)[1:]:
            route = next(r for r in revision.object["spec"]["http"] if r.get("name") == "primary")
            split = "/".join(str(d.get("weight")) for d in route["route"])
            timed.append((revision.at, "istio", f"weights {split}"))
        timed += [(c.at, "looker", c.operation) for c in self.looker.calls
                  if c.operation in LOOKER_CALLS and c.status < 400]
        return [(system, what) for _, system, what in sorted(timed)]

    def audit(self) -> list[dict[str, Any]]:
        path = self.workspaces["records"] / "audit" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def check_clean(self) -> None:
        """Every exchange stayed within the APIs' documents; no key was ever sent."""
        self.looker.assert_clean()
        assert self.vertex.request_violations == [] and self.vertex.spec_violations == []
        assert not any(c.carries_key for c in (*self.vertex.calls, *self.auth.calls))


def _spec(pipeline: str) -> dict:
    found = catalog.find("Pipeline", pipeline)
    assert found is not None, f"no pipeline {pipeline} in the catalog"
    return found.doc["spec"]


def squash(items: list[Any]) -> list[Any]:
    """Runs of equal items as one: a, a, b -> a, b (a dozen query tasks are one step of the story)."""
    return [item for i, item in enumerate(items) if i == 0 or items[i - 1] != item]


def write_run(folder: Path, run: dict) -> Path:
    path = folder / f"{run['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(run, sort_keys=False))
    return path
