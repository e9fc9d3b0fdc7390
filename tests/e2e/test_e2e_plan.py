"""The kind e2e harness cannot run here (no cluster); its plan can be checked: the order of the
steps, what each sample asserts and gets, that every manifest it applies lints clean, that --plan
runs nothing, that the CI matrix is the list of Tekton LTS releases, and that each fake's
settings agree with the samples they serve."""
from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock import catalog, paths
from interlock.e2e import command, plan
from interlock.e2e import manifests as m
from interlock.e2e.fakes import FAKES, GOLDEN, INTEGRATIONS, WIF_CONFIG, fake_named, fill
from interlock.lint.command import lint

WORKFLOW = paths.SOURCE / ".github" / "workflows" / "e2e-kind.yaml"


@pytest.fixture(scope="module")
def sections() -> list[plan.Section]:
    return plan.build(plan.TEKTON_LTS[-1])


@pytest.fixture(scope="module")
def runs() -> list[plan.SampleRun]:
    return plan.sample_runs()


def _commands(sections) -> list[str]:
    return [" ".join(a.argv) for s in sections for a in s.actions if isinstance(a, plan.Run)]


def _index(commands: list[str], prefix: str, start: int = 0) -> int:
    return next(i for i, c in enumerate(commands) if c.startswith(prefix) and i >= start)


def _sample(path: str) -> dict:
    return catalog.load_yaml(paths.ROOT / path)


def test_steps_come_in_an_order_that_can_work(sections):
    c = _commands(sections)
    kubectl = "kubectl --context kind-interlock-e2e"
    order = ["docker run -d --restart=always -p 127.0.0.1:5000:5000 --name registry.local registry:2",
             "kind create cluster --name interlock-e2e",
             "docker network connect kind registry.local",
             f"{kubectl} apply -f https://github.com/tektoncd/pipeline/releases/download/v1.15.0/",
             f"{kubectl} patch configmap resolvers-feature-flags",
             f"{kubectl} patch configmap feature-flags -n tekton-pipelines",
             f"{kubectl} apply --server-side -f https://raw.githubusercontent.com/istio/istio/",
             f"{kubectl} wait --for=condition=Established crd --all",
             ".venv/bin/interlock images build",
             ".venv/bin/interlock images push --registry registry.local:5000",
             ".venv/bin/interlock images pin --registry registry.local:5000",
             ".venv/bin/interlock bundle push --registry registry.local:5000",
             ".venv/bin/interlock lint build/e2e/",
             "podman build --pull=never --timestamp",
             "podman push --tls-verify=false localhost/interlock/fakes:e2e registry.local:5000/interlock/fakes:e2e",
             f"{kubectl} apply -f build/e2e/namespace-",
             f"{kubectl} apply -f tasks/istio-set-weights/0.1/samples/",
             f"{kubectl} rollout status -n interlock-e2e deployment/fake-looker",
             f"{kubectl} rollout status -n interlock-e2e deployment/fake-mesh",
             f"{kubectl} rollout status -n istio-system deployment/prometheus",
             f"{kubectl} exec -n istio-system deployment/prometheus -- sh -c",
             f"{kubectl} create -f build/e2e/run-"]
    positions = [_index(c, step) for step in order]
    assert positions == sorted(positions)
    # the fakes image is built on the vertex step image, built (and tagged) before it
    assert "BASE=localhost/interlock/vertex:" in c[_index(c, "podman build")]
    # every manifest is applied before any run is created, the namespaces first
    applies = [i for i, x in enumerate(c) if x.startswith(f"{kubectl} apply -f build/e2e/")]
    assert c[applies[0]].startswith(f"{kubectl} apply -f build/e2e/namespace-")
    assert max(applies) < _index(c, f"{kubectl} create -f")
    teardown = [" ".join(a.argv) for a in plan.teardown().actions]
    assert teardown == ["kind delete cluster --name interlock-e2e", "docker rm -f registry.local"]


def test_each_run_starts_from_the_samples_objects_and_is_checked(sections, runs):
    c = _commands(sections)
    kubectl = "kubectl --context kind-interlock-e2e"
    for run in runs:
        created = c.index(f"{kubectl} create -f {run.file}")
        objects = [p.relative_to(paths.ROOT).as_posix() for i in run.integrations for p in plan.sample_objects(i)]
        if objects:  # re-applied right before the run
            assert c[created - 1] == f"{kubectl} apply " + " ".join(f"-f {p}" for p in objects)
        assert c[created + 1] == (f"{kubectl} wait -n {run.namespace} --for=jsonpath={{.status.completionTime}} "
                                  f"{run.doc['kind'].lower()}/{run.name} --timeout={plan.TIMEOUT}")
    istio = next(i for i in INTEGRATIONS if i.prefix == "istio-")
    assert [p.name for p in plan.sample_objects(istio)] == [
        "destinationrule.yaml", "role.yaml", "rolebinding.yaml", "virtualservice.yaml"]


def test_every_sample_runs_through_the_bundles_resolver_and_asserts_its_results(sections, runs):
    expected = yaml.safe_load((paths.SOURCE / plan.EXPECTATIONS).read_text())
    writes = {a.path: yaml.safe_load(a.text) for s in sections for a in s.actions if isinstance(a, plan.Write)}
    checks = [a for s in sections for a in s.actions if isinstance(a, plan.Expect)]
    samples = [p.relative_to(paths.ROOT).as_posix() for p in plan.samples()]
    assert sorted(samples) == sorted(expected) and [r.sample for r in runs] == samples
    assert len(checks) == len(samples) and {Path(s).parts[1] for s in samples} >= {
        r.name for r in catalog.resources() if r.kind == "Task"}   # every Task has a sample run
    for run, check in zip(runs, checks, strict=True):
        original = _sample(run.sample)
        assert check.results == {k: str(v) for k, v in expected[run.sample].items()} and check.results
        assert (check.name, check.namespace) == (run.name, run.namespace)
        doc = writes[run.file]
        assert doc == run.doc
        folder, name, version = Path(run.sample).parts[:3]
        kind = "task" if folder == "tasks" else "pipeline"
        ref = doc["spec"][f"{kind}Ref"]
        assert ref["resolver"] == "bundles"
        assert {p["name"]: p["value"] for p in ref["params"]} == {
            "bundle": f"registry.local:5000/interlock/{folder}/{name}:{version}", "name": name, "kind": kind}
        # the sample's namespace when it names one (the Istio samples' shop), else the harness's
        assert doc["metadata"] == {"name": check.name,
                                   "namespace": original["metadata"].get("namespace", "interlock-e2e")}
        # the fakes of every system its Task (or its Pipeline's Tasks) talk to, and only those
        resource = catalog.find(kind.capitalize(), name, version)
        tasks = {name} if kind == "task" else {
            t["taskRef"]["name"] for key in ("tasks", "finally") for t in resource.doc["spec"].get(key, [])}
        assert list(run.integrations) == [i for i in INTEGRATIONS if any(i.serves(t) for t in tasks)]
        assert run.integrations
        declared = {p["name"] for p in resource.doc["spec"]["params"]}
        params = {p["name"]: p["value"] for p in doc["spec"]["params"]}
        overrides = {k: fill(v, m.service_url) for i in run.integrations for k, v in i.params.items() if k in declared}
        assert {k: params[k] for k in overrides} == overrides
        # every other param as the sample gives it
        settable = {k for i in run.integrations for k in i.params}
        assert {p["name"]: p["value"] for p in original["spec"]["params"] if p["name"] not in overrides} == {
            k: v for k, v in params.items() if k not in settable}
        holder = doc["spec"] if kind == "task" else doc["spec"].get("taskRunTemplate") or {}
        env = (holder.get("podTemplate") or {}).get("env") or []
        assert env == [{"name": k, "value": fill(v, m.service_url)} for i in run.integrations for k, v in i.env.items()]
        assert doc["spec"].get("workspaces") == original["spec"].get("workspaces")


def test_the_samples_reach_the_fakes_by_service_name(runs):
    by_sample = {r.sample: {p["name"]: p["value"] for p in r.doc["spec"]["params"]} for r in runs}
    assert by_sample["tasks/looker-refresh/0.1/samples/taskrun.yaml"]["base-url"] == \
        "http://fake-looker.interlock-e2e.svc.cluster.local:8080"
    assert by_sample["tasks/istio-canary-shift/0.1/samples/taskrun.yaml"]["prometheus-url"] == \
        "http://prometheus.istio-system.svc.cluster.local:9090"
    assert by_sample["tasks/vertex-deploy/0.1/samples/taskrun.yaml"]["api-endpoint"] == \
        "http://fake-vertex.interlock-e2e.svc.cluster.local:8080"
    gke = next(r for r in runs if r.sample.endswith("taskrun-gke.yaml"))
    assert {e["name"]: e["value"] for e in gke.doc["spec"]["podTemplate"]["env"]} == {
        "GCE_METADATA_HOST": "fake-google-auth.interlock-e2e.svc.cluster.local:8080",
        "GCE_METADATA_IP": "fake-google-auth.interlock-e2e.svc.cluster.local:8080"}


def test_every_applied_manifest_passes_lint(sections, tmp_path):
    writes = {a.path: a.text for s in sections for a in s.actions if isinstance(a, plan.Write)}
    applied = {arg for c in _commands(sections) if " apply " in c or " create -f " in c
               for flag, arg in zip(c.split()[:-1], c.split()[1:]) if flag == "-f" and not arg.startswith("https://")}
    assert {a for a in applied if a.startswith("build/e2e/")} == {w for w in writes if w != "build/e2e/kind.yaml"}
    files = []
    for path in sorted(applied):
        if path in writes:
            (tmp_path / Path(path).name).write_text(writes[path])
            files.append(str(tmp_path / Path(path).name))
        else:  # the samples' own objects (and, for pipeline runs, the Tasks), applied from the catalog
            assert (paths.ROOT / path).is_file() and path.startswith(("tasks/", "pipelines/"))
            files.append(str(paths.ROOT / path))
    # tekton-lint checks Task and Pipeline definitions: the harness writes none (they come from the
    # bundles, or are catalog files `interlock lint` checks with it), so it is left out here
    result = CliRunner().invoke(lint, ["--format", "json", "--no-tekton-lint", *files])
    report = json.loads(result.output)
    assert report["findings"] == [] and result.exit_code == 0, report["findings"]
    # pods as Pod Security "restricted" asks
    for path in applied & set(writes):
        doc = yaml.safe_load(writes[path])
        if doc["kind"] == "Deployment":
            [container] = doc["spec"]["template"]["spec"]["containers"]
            assert container["securityContext"] == m.RESTRICTED


def test_the_plan_prints_everything_and_runs_nothing(monkeypatch):
    real_run = subprocess.run

    def refuse(*args, **kwargs):
        raise AssertionError(f"--plan ran or wrote {args}")

    def git_only(argv, *args, **kwargs):  # the plan reads commit times with git (provenance.py)
        return real_run(argv, *args, **kwargs) if argv[0] == "git" else refuse(argv)
    monkeypatch.setattr(subprocess, "run", git_only)
    for module, name in ((Path, "write_text"), (Path, "mkdir")):
        monkeypatch.setattr(module, name, refuse)
    result = CliRunner().invoke(command.e2e, ["--plan", "--tekton", "v1.12.0"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "releases/download/v1.12.0/release.yaml" in text
    assert "cat > build/e2e/run-e2e-looker-refresh-0-1-taskrun.yaml <<'EOF'" in text
    assert "get -n shop taskrun e2e-istio-set-weights-0-1-taskrun" in text
    assert text.rstrip().endswith("docker rm -f registry.local")


def test_the_plan_is_a_valid_shell_script():
    text = CliRunner().invoke(command.e2e, ["--plan"]).output
    proc = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_bad_tekton_version_is_refused():
    result = CliRunner().invoke(command.e2e, ["--plan", "--tekton", "latest"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --tekton 'latest': expected a release tag like v1.15.0"


def test_a_sample_without_expected_results_is_refused(monkeypatch):
    last = [p.relative_to(paths.ROOT).as_posix() for p in plan.samples()][-1]
    known = plan.expectations()
    monkeypatch.setattr(plan, "expectations", lambda: {k: v for k, v in known.items() if k != last})
    result = CliRunner().invoke(command.e2e, ["--plan"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"error: {last}: no expected results in tests/e2e/expectations.yaml: "
                                     "the e2e run asserts result values, not just Succeeded")


def test_another_catalog_is_refused(interlock_in, catalog_copy):
    proc = interlock_in("e2e", "--plan", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"error: the e2e run proves this checkout's catalog with its own fakes: run it in "
                                   f"{paths.SOURCE}, not on {catalog_copy}")


def test_the_ci_matrix_is_the_lts_list():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["e2e"]
    assert tuple(job["strategy"]["matrix"]["tekton"]) == plan.TEKTON_LTS
    assert any("scripts/e2e-kind.sh --tekton ${{ matrix.tekton }}" in step.get("run", "") for step in job["steps"])


# --- each fake's settings agree with the samples it serves ---------------------------------------
@pytest.mark.parametrize("fake", FAKES, ids=[f.name for f in FAKES])
def test_each_fake_entry_is_a_fake_of_the_fakes_image(fake):
    module = importlib.import_module(fake.module)
    assert module.__file__ and Path(module.__file__).is_relative_to(paths.SOURCE / "tests" / "fakes")
    assert importlib.import_module(f"{fake.module}.__main__").main  # runs as python3 -m <module>
    assert any(fake.name in i.fakes for i in INTEGRATIONS)


def test_the_fakes_listen_beyond_loopback_only_when_asked():
    from tests.fakes.loopback import check_host
    with pytest.raises(ValueError, match=r"0\.0\.0\.0 only with --in-container"):
        check_host("0.0.0.0", "fake")
    with pytest.raises(ValueError, match="the fakes only listen on loopback"):
        check_host("10.1.2.3", "fake", in_container=True)
    check_host("0.0.0.0", "fake", in_container=True)
    assert all("--in-container" in f.command for f in FAKES)


def test_the_looker_credentials_are_the_fakes_user():
    from tests.fakes.looker.state import default_state
    user = next(iter(default_state().users.values()))
    [looker] = [i for i in INTEGRATIONS if i.prefix == "looker-"]
    assert looker.secrets == {"looker-credentials": {"client_id": user.client_id,
                                                     "client_secret": user.client_secret}}


def test_the_mesh_reads_the_route_the_istio_samples_shift():
    from tests.istio.objects import destination_rule, virtual_service
    samples = paths.ROOT / "tasks" / "istio-set-weights" / "0.1" / "samples"
    vs, dr = (yaml.safe_load((samples / f"{n}.yaml").read_text()) for n in ("virtualservice", "destinationrule"))
    assert (vs, dr) == (virtual_service(), destination_rule())   # the objects the Istio tests prove the tasks on
    args = fake_named("mesh").args
    option = {args[i]: args[i + 1] for i in range(0, len(args), 2) if args[i] != "--destination"}
    assert (option["--namespace"], option["--virtualservice"]) == (vs["metadata"]["namespace"], vs["metadata"]["name"])
    [route] = [r for r in vs["spec"]["http"] if r["name"] == option["--route"]]
    keys = [args[i + 1].split("=")[0] for i in range(len(args)) if args[i] == "--destination"]
    assert keys == [d["destination"]["subset"] for d in route["route"]]
    assert fake_named("mesh").reads == (vs["metadata"]["namespace"], "networking.istio.io", "virtualservices")
    canary = _sample("tasks/istio-canary-shift/0.1/samples/taskrun.yaml")
    workloads = {p["name"]: p["value"] for p in canary["spec"]["params"]}
    assert [args[i + 1].split("=")[1] for i in range(len(args)) if args[i] == "--destination"] == [
        workloads["stable-workload"], workloads["canary-workload"]]


def test_the_vertex_scenario_holds_what_the_samples_name():
    from tests.fakes.vertex import VertexState
    from tests.fakes.vertex.__main__ import load_scenario, scenario_path
    state = VertexState()
    load_scenario(scenario_path(fake_named("vertex").args[1]), state)
    deploy = {p["name"]: p["value"] for p in _sample("tasks/vertex-deploy/0.1/samples/taskrun.yaml")["spec"]["params"]}
    verify = {p["name"]: p["value"] for p in _sample("tasks/vertex-verify/0.1/samples/taskrun.yaml")["spec"]["params"]}
    parent = f"projects/{deploy['project']}/locations/us-central1"
    assert f"{parent}/models/{deploy['parent-model']}" in state.models
    endpoint = state.endpoints[f"{parent}/endpoints/{verify['endpoint']}"]
    assert endpoint.spec["displayName"] == deploy["endpoint-display-name"]
    assert endpoint.traffic == json.loads(verify["previous-traffic"])
    # the golden predictions are what the endpoint's models answer, before and after the deployment
    for uri in (next(iter(state.models.values())).default.spec["artifactUri"], deploy["artifact-uri"]):
        assert [state.predictor(uri).predict(i) for i in GOLDEN["instances"]] == GOLDEN["predictions"]


def test_the_wif_config_is_for_the_samples_token():
    wif = _sample("tasks/vertex-train/0.1/samples/taskrun-wif.yaml")
    [workspace] = wif["spec"]["workspaces"]
    sources = workspace["projected"]["sources"]
    token = next(s["serviceAccountToken"] for s in sources if "serviceAccountToken" in s)
    assert WIF_CONFIG["audience"] == "//" + token["audience"].split("://", 1)[1]
    assert WIF_CONFIG["credential_source"]["file"] == f"/workspace/{workspace['name']}/{token['path']}"
    [vertex] = [i for i in INTEGRATIONS if i.prefix == "vertex-"]
    assert {s["configMap"]["name"] for s in sources if "configMap" in s} <= set(vertex.configmaps)
    verify = _sample("tasks/vertex-verify/0.1/samples/taskrun.yaml")
    golden = next(w["configMap"]["name"] for w in verify["spec"]["workspaces"] if "configMap" in w)
    assert json.loads(vertex.configmaps[golden]["golden.json"]) == GOLDEN
