"""The kind e2e harness cannot run here (no cluster); its plan can be checked: the order of the
steps, what each sample asserts, that every manifest it applies lints clean, that --plan runs
nothing, and that the CI matrix is the list of Tekton LTS releases."""
from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from interlock import paths
from interlock.e2e import command, plan
from interlock.e2e.fakes import FAKES
from interlock.lint.command import lint

WORKFLOW = paths.ROOT / ".github" / "workflows" / "e2e-kind.yaml"


@pytest.fixture(scope="module")
def sections() -> list[plan.Section]:
    return plan.build(plan.TEKTON_LTS[-1])


def _commands(sections) -> list[str]:
    return [" ".join(a.argv) for s in sections for a in s.actions if isinstance(a, plan.Run)]


def _index(commands: list[str], prefix: str) -> int:
    return next(i for i, c in enumerate(commands) if c.startswith(prefix))


def test_steps_come_in_an_order_that_can_work(sections):
    c = _commands(sections)
    order = ["docker run -d --restart=always -p 127.0.0.1:5000:5000 --name registry.local registry:2",
             "kind create cluster --name interlock-e2e",
             "docker network connect kind registry.local",
             "kubectl --context kind-interlock-e2e apply -f https://github.com/tektoncd/pipeline/releases/download/v1.15.0/",
             "kubectl --context kind-interlock-e2e patch configmap resolvers-feature-flags",
             ".venv/bin/interlock images push --registry registry.local:5000",
             ".venv/bin/interlock images pin --registry registry.local:5000",
             ".venv/bin/interlock bundle push --registry registry.local:5000",
             ".venv/bin/interlock lint build/e2e/",
             "podman push --tls-verify=false localhost/interlock/fakes:e2e registry.local:5000/interlock/fakes:e2e",
             "kubectl --context kind-interlock-e2e rollout status -n interlock-e2e deployment/fake-looker",
             "kubectl --context kind-interlock-e2e create -f build/e2e/run-"]
    positions = [_index(c, step) for step in order]
    assert positions == sorted(positions)
    teardown = [" ".join(a.argv) for a in plan.teardown().actions]
    assert teardown == ["kind delete cluster --name interlock-e2e", "docker rm -f registry.local"]


def test_every_sample_runs_through_the_bundles_resolver_and_asserts_its_results(sections):
    expected = yaml.safe_load((paths.ROOT / plan.EXPECTATIONS).read_text())
    writes = {Path(a.path).name: yaml.safe_load(a.text) for s in sections for a in s.actions
              if isinstance(a, plan.Write)}
    checks = [a for s in sections for a in s.actions if isinstance(a, plan.Expect)]
    samples = [p.relative_to(paths.ROOT).as_posix() for p in plan.samples()]
    assert sorted(samples) == sorted(expected) and len(checks) == len(samples)
    for sample, check in zip(samples, checks, strict=True):
        assert check.results == {k: str(v) for k, v in expected[sample].items()} and check.results
        run = writes[f"run-{check.name}.yaml"]
        task = sample.split("/")[1]
        ref = run["spec"]["taskRef"]
        assert ref["resolver"] == "bundles"
        assert {p["name"]: p["value"] for p in ref["params"]} == {
            "bundle": f"registry.local:5000/interlock/tasks/{task}:0.1", "name": task, "kind": "task"}
        params = {p["name"]: p["value"] for p in run["spec"]["params"]}
        assert params["base-url"] == "http://fake-looker.interlock-e2e.svc.cluster.local:8080"
        assert params["verify-ssl"] == "false"
        assert run["metadata"] == {"name": check.name, "namespace": "interlock-e2e"}


def test_every_applied_manifest_passes_lint(sections, tmp_path):
    writes = [a for s in sections for a in s.actions if isinstance(a, plan.Write) and a.path.endswith(".yaml")
              and Path(a.path).name != "kind.yaml"]
    files = []
    for w in writes:
        path = tmp_path / Path(w.path).name
        path.write_text(w.text)
        files.append(str(path))
    applied = [c.split(" -f ")[-1] for c in _commands(sections) if " apply -f build/e2e/" in c or " create -f " in c]
    assert {Path(p).name for p in applied} == {Path(f).name for f in files}
    result = CliRunner().invoke(lint, ["--format", "json", *files])
    report = json.loads(result.output)
    assert report["findings"] == [] and result.exit_code == 0


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
    assert text.rstrip().endswith("docker rm -f registry.local")


def test_the_plan_is_a_valid_shell_script():
    text = CliRunner().invoke(command.e2e, ["--plan"]).output
    proc = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_bad_tekton_version_is_refused():
    result = CliRunner().invoke(command.e2e, ["--plan", "--tekton", "latest"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --tekton 'latest': expected a release tag like v1.15.0"


def test_a_sample_without_expected_results_is_refused(interlock_in, catalog_copy):
    (catalog_copy / "tests" / "e2e").mkdir(parents=True)
    (catalog_copy / plan.EXPECTATIONS).write_text(
        (paths.ROOT / plan.EXPECTATIONS).read_text().split("tasks/looker-validate/")[0])
    proc = interlock_in("e2e", "--plan", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: tasks/looker-validate/0.1/samples/taskrun.yaml: no expected results in "
                                   "tests/e2e/expectations.yaml: the e2e run asserts result values, not just Succeeded")


def test_the_ci_matrix_is_the_lts_list():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["e2e"]
    assert tuple(job["strategy"]["matrix"]["tekton"]) == plan.TEKTON_LTS
    assert any("scripts/e2e-kind.sh --tekton ${{ matrix.tekton }}" in step.get("run", "") for step in job["steps"])


@pytest.mark.parametrize("fake", FAKES, ids=[f.name for f in FAKES])
def test_each_fake_entry_matches_its_fake(fake):
    module = importlib.import_module(fake.module)
    assert module.__file__ and Path(module.__file__).is_relative_to(paths.ROOT / "tests" / "fakes")
    if fake.name == "looker":
        from tests.fakes.looker.state import default_state
        user = next(iter(default_state().users.values()))
        assert fake.credentials == {"client_id": user.client_id, "client_secret": user.client_secret}
