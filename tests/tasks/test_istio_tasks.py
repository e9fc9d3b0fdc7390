"""The Istio Tasks as users run them: the Task YAML, the built istio image and `interlock run`,
against the fake Kubernetes API (enforcing the sample Role), the mesh simulator and a real
Prometheus, all on loopback (`--network host`). Each test asserts the weights the VirtualService
actually went through."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.mesh import Behaviour, Switch
from tests.istio.objects import NAME, NAMESPACE, TOKEN, virtual_service, weights, without_weights
from tests.istio.support import add_mesh, seeded_kube

from tests.conftest import built_image

from .conftest import interlock_run

pytestmark = [pytest.mark.containers, pytest.mark.timeout(400)]


@pytest.fixture
def kube():
    with seeded_kube() as fake:
        yield fake


def folder(tmp_path: Path, name: str) -> Path:
    """A workspace folder the step (uid 65532) can use."""
    path = tmp_path / name
    path.mkdir(exist_ok=True)
    path.chmod(0o777)
    return path


@pytest.fixture
def run_istio(tmp_path, istio_image, kube):
    """run_istio(task, workspaces=..., secrets=..., **params): the TaskRun's outcome."""
    kubeconfig = folder(tmp_path, "kubeconfig")
    kube.kubeconfig(kubeconfig / "kubeconfig", token=TOKEN, namespace=NAMESPACE).chmod(0o644)
    kubeconfig.chmod(0o755)

    def run(task: str, *, workspaces: dict[str, Path] | None = None, secrets: dict[str, Path] | None = None,
            **params: str):
        taskrun = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": f"{task}-test"},
                   "spec": {"taskRef": {"name": task}, "serviceAccountName": "deployer",
                            "params": [{"name": "namespace", "value": NAMESPACE},
                                       {"name": "virtualservice", "value": NAME},
                                       *({"name": k.replace("_", "-"), "value": v} for k, v in params.items())]}}
        return interlock_run(tmp_path, taskrun, workspaces={"kubeconfig": kubeconfig, **(workspaces or {})},
                             secrets=secrets, images={"istio": istio_image})
    return run


def history(kube) -> list[tuple[int | None, int | None]]:
    return [(w["stable"], w["canary"]) for w in (weights(r.object) for r in kube.history("virtualservices", NAMESPACE, NAME))]


def test_set_weights_task(run_istio, kube, tmp_path):
    audit = folder(tmp_path, "audit")
    run = run_istio("istio-set-weights", weights="stable=80,canary=20", workspaces={"audit": audit})
    assert run.code == 0, run.stderr
    assert run.condition["status"] == "True"
    assert run.results == {"previous-weights": '{"stable":100,"canary":0}', "applied-weights": '{"stable":80,"canary":20}',
                           "changed": "true"}
    assert history(kube) == [(100, 0), (80, 20)]
    assert without_weights(kube.get("virtualservices", NAMESPACE, NAME)) == without_weights(virtual_service())
    [line] = [json.loads(x) for x in (audit / "audit.jsonl").read_text().splitlines()]
    assert line["action"] == "set weights" and line["outcome"] == "changed" and line["weights"] == "stable=80,canary=20"
    assert TOKEN not in run.stderr + json.dumps(run.outcome)


def test_set_weights_task_refuses_bad_weights_before_any_change(run_istio, kube):
    run = run_istio("istio-set-weights", weights="stable=80,canary=30")
    assert run.code == 1 and run.condition["status"] == "False"
    assert "weights must add up to 100, these add up to 110" in run.stderr
    assert history(kube) == [(100, 0)] and kube.calls_to("patch") == []


def test_set_weights_task_dry_run(run_istio, kube):
    run = run_istio("istio-set-weights", weights="stable=80,canary=20", dry_run="true")
    assert run.code == 0, run.stderr
    assert run.results["changed"] == "false" and history(kube) == [(100, 0)]
    assert [c.query for c in kube.calls_to("patch")] == [{"dryRun": "All"}]


def test_rollback_task_restores_exactly(run_istio, kube):
    kube.put(virtual_service(stable=100, canary=None))
    shifted = run_istio("istio-set-weights", weights="stable=50,canary=50")
    assert shifted.code == 0, shifted.stderr
    run = run_istio("istio-rollback", previous_weights=shifted.results["previous-weights"])
    assert run.code == 0, run.stderr
    assert run.results == {"restored-weights": '{"stable":100,"canary":null}', "changed": "true"}
    assert history(kube)[-3:] == [(100, None), (50, 50), (100, None)]
    again = run_istio("istio-rollback", previous_weights=shifted.results["previous-weights"])
    assert again.code == 0 and again.results["changed"] == "false"


def canary_params(made, prometheus_url: str, **overrides: str) -> dict[str, str]:
    return {"stable_workload": "reviews-v1", "canary_workload": "reviews-v2", "metrics_namespace": made.metrics_namespace,
            "prometheus_url": prometheus_url, "interval": "3s", "check_every": "500ms", "min_requests": "20",
            "steps": "10,50", "prometheus_tls_verify": "false", **overrides}


def test_canary_shift_task_promotes_a_healthy_canary(run_istio, kube, simulator, prometheus, tmp_path):
    made = add_mesh(simulator, prometheus, kube.url)
    report = folder(tmp_path, "report")
    switch = Switch(prometheus.url)
    token = folder(tmp_path, "prometheus-token")
    (token / "token").write_text("prom-bearer-7d1f0c2e9a")
    try:
        run = run_istio("istio-canary-shift", workspaces={"report": report}, secrets={"prometheus-token": token},
                        **canary_params(made, switch.url))
    finally:
        switch.close()
        simulator.remove(made)
    assert run.code == 0, run.stderr
    assert history(kube) == [(100, 0), (90, 10), (50, 50), (0, 100)]
    assert run.results["decision"] == "promoted" and run.results["steps-completed"] == "2"
    assert run.results["previous-weights"] == '{"stable":100,"canary":0}'
    assert run.results["final-weights"] == '{"stable":0,"canary":100}'
    full = json.loads((report / "istio-canary-shift.json").read_text())
    looks = [o for o in full["observations"] if "errors_test" in o]
    assert looks and all(o["queries"]["canary.errors"].endswith('response_code=~"5.."})') for o in looks)
    assert full["decision"] == "promoted" and full["final_weights"] == {"stable": 0, "canary": 100}
    assert set(switch.authorization) == {"Bearer prom-bearer-7d1f0c2e9a"}  # the token from the Secret
    assert "prom-bearer-7d1f0c2e9a" not in run.stderr + json.dumps(run.outcome) + json.dumps(full)


def test_canary_shift_task_rolls_back_an_erroring_canary(run_istio, kube, simulator, prometheus):
    made = add_mesh(simulator, prometheus, kube.url, canary=Behaviour("reviews-v2", error_rate=0.05), rps=600)
    try:
        run = run_istio("istio-canary-shift", **canary_params(made, prometheus.url, steps="10,25,50", interval="4s"))
    finally:
        simulator.remove(made)
    assert run.code == 1 and run.condition["status"] == "False"
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert run.results["decision"] == "rolled-back"
    assert run.results["final-weights"] == run.results["previous-weights"] == '{"stable":100,"canary":0}'
    assert json.loads(run.results["summary"])["errors_p"] < 0.005
    assert "canary worse than stable on errors at 10%" in run.stderr


def test_a_failing_pipeline_puts_the_weights_back_in_finally(tmp_path, istio_image, kube):
    """An earlier task moved traffic, a later one failed: the finally istio-rollback restores it."""
    tools = built_image("tools")
    kubeconfig = folder(tmp_path, "kubeconfig")
    kube.kubeconfig(kubeconfig / "kubeconfig", token=TOKEN, namespace=NAMESPACE).chmod(0o644)
    kubeconfig.chmod(0o755)
    target = [{"name": "namespace", "value": NAMESPACE}, {"name": "virtualservice", "value": NAME}]
    workspaces = [{"name": "kubeconfig", "workspace": "kubeconfig"}]
    pipelinerun = {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "release"},
                   "spec": {"workspaces": [{"name": "kubeconfig", "emptyDir": {}}], "pipelineSpec": {
                       "workspaces": [{"name": "kubeconfig"}],
                       "tasks": [
                           {"name": "shift", "taskRef": {"name": "istio-set-weights"}, "workspaces": workspaces,
                            "params": [*target, {"name": "weights", "value": "stable=75,canary=25"}]},
                           {"name": "smoke-test", "runAfter": ["shift"], "taskSpec": {"steps": [
                               {"name": "check", "image": "localhost/interlock/tools:0.1.0", "command": ["false"]}]}}],
                       "finally": [
                           {"name": "rollback", "taskRef": {"name": "istio-rollback"}, "workspaces": workspaces,
                            "when": [{"input": "$(tasks.status)", "operator": "in", "values": ["Failed"]}],
                            "params": [*target, {"name": "previous-weights",
                                                 "value": "$(tasks.shift.results.previous-weights)"}]}]}}}
    run = interlock_run(tmp_path, pipelinerun, workspaces={"kubeconfig": kubeconfig},
                        images={"istio": istio_image, "tools": tools})
    assert run.code == 1, run.stderr
    assert history(kube) == [(100, 0), (75, 25), (100, 0)]
    assert {t["pipelineTask"]: t["condition"]["status"] for t in run.outcome["tasks"]} == \
        {"shift": "True", "smoke-test": "False", "rollback": "True"}


def test_istio_image_cold_start_reaches_the_api(istio_image):
    from interlock.images.cold_start import cold_start

    seconds = cold_start("istio", istio_image)
    assert seconds is not None and 0 < seconds < 60
