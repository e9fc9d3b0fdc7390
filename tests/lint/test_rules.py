"""One broken fixture per lint rule: each must fail with that rule, at that place, and with
no other error (so a rule cannot pass by accident thanks to another one firing)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.lint.command import lint

FIXTURES = Path(__file__).parent / "fixtures"
RULES = FIXTURES / "rules"
TASK = "tasks/hello/0.1/hello.yaml"
RULES_MD = Path(__file__).parents[2] / "scripts" / "interlock" / "lint" / "RULES.md"


def run_lint(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(lint, ["--format", "json", "--no-tekton-lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)["findings"]


# rule id, fixture (a loose file under rules/ or a catalog tree), file, document path, line
CASES = [
    ("yaml-syntax", "yaml-syntax.yaml", None, "", 20),
    ("yaml-lint", "yaml-lint.yaml", None, "", 22),
    ("multi-document", "multi-document/", TASK, "", 60),
    ("not-utf8", "not-utf8.yaml", None, "", 19),
    ("unknown-kind", "unknown-kind.yaml", None, "kind", 2),
    ("unknown-kind", "unknown-kind-in-task-folder/", TASK, "kind", 2),
    ("schema", "schema-unknown-field.yaml", None, "spec.steps[0].scriptt", 19),
    ("schema", "schema-bad-type.yaml", None, "spec.params[0].type", 9),
    ("undeclared-param", "undeclared-param.yaml", None, "spec.steps[0].env[0].value", 23),
    ("undeclared-result", "undeclared-result.yaml", None, "spec.steps[0].args[1]", 23),
    ("undeclared-workspace", "undeclared-workspace.yaml", None, "spec.steps[0].args[1]", 22),
    ("undeclared-step-ref", "undeclared-step-ref.yaml", None, "spec.results[0].value", 9),
    ("undeclared-task-ref", "undeclared-task-ref.yaml", None, "spec.tasks[1].params[0].value", 32),
    ("task-interface", "task-interface.yaml", None, "spec.tasks[0].name", 10),
    ("result-never-written", "result-never-written.yaml", None, "spec.results[1]", 9),
    ("result-never-written", "pipeline-result-never-written.yaml", None, "spec.results[0].value", 11),
    ("duplicate-step", "duplicate-step.yaml", None, "spec.steps[1].name", 20),
    ("duration", "duration.yaml", None, "spec.steps[0].timeout", 19),
    ("param-in-script", "param-in-script.yaml", None, "spec.steps[0].script", 23),
    ("param-in-script", "param-in-script-brackets.yaml", None, "spec.steps[0].script", 23),  # $(params["who"])
    ("name-mismatch", "name-mismatch/", TASK, "metadata.name", 4),
    ("version-mismatch", "version-mismatch/", TASK, 'metadata.labels["app.kubernetes.io/version"]', 6),
    ("missing-annotation", "missing-annotation/", TASK, 'metadata.annotations["tekton.dev/platforms"]', 7),
    ("missing-description", "missing-description/", TASK, "spec.description", 22),
    ("image-not-pinned", "image-not-pinned.yaml", None, "spec.steps[0].image", 18),
    ("security-context", "security-context.yaml", None,
     "spec.steps[0].securityContext.allowPrivilegeEscalation", 16),
    ("secret-param", "secret-param.yaml", None, "spec.params[1].name", 10),
    ("readme-missing", "readme-missing/", TASK, "", 1),
    ("readme-out-of-sync", "readme-out-of-sync/", "tasks/hello/0.1/README.md", "", 7),
    ("artifacthub-annotation", "artifacthub-annotation/", TASK, 'metadata.annotations["artifacthub.io/category"]', 13),
    ("changelog", "changelog/", TASK, 'metadata.annotations["artifacthub.io/changes"]', 20),
    ("artifacthub-repo", "artifacthub-repo/", "tasks/artifacthub-repo.yml", "", 1),
]


@pytest.mark.parametrize("rule,fixture,file,path,line", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_each_rule_fails_its_fixture_at_the_right_place(rule, fixture, file, path, line):
    if fixture.endswith("/"):  # a tiny catalog tree: lint it as the root
        code, findings = run_lint("--root", str(FIXTURES / fixture))
    else:
        code, findings = run_lint("--root", str(RULES), str(RULES / fixture))
        file = fixture
    assert code == 1
    errors = [(f["rule"], f["file"], f["path"], f["line"]) for f in findings if f["severity"] == "error"]
    assert errors == [(rule, file, path, line)]
    assert all(f["message"] and f["hint"] for f in findings)


def test_every_documented_rule_has_a_fixture():
    table = [line for line in RULES_MD.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {line.split("|")[1].strip(" `") for line in table}
    covered = {c[0] for c in CASES} | {"tekton-lint"}  # tekton-lint: see test_tekton_lint.py
    assert documented == covered


def test_clean_catalog_tree_passes_with_samples_and_a_configmap():
    code, findings = run_lint("--root", str(FIXTURES / "clean"))
    assert (code, findings) == (0, [])


def test_secret_name_params_are_allowed():
    _, findings = run_lint("--root", str(RULES), str(RULES / "secret-param.yaml"))
    assert [f["path"] for f in findings if f["rule"] == "secret-param"] == ["spec.params[1].name"]


def test_unknown_kind_in_samples_is_a_finding_when_it_claims_to_be_tekton(tmp_path):
    sample = tmp_path / "tasks" / "hello" / "0.1" / "samples" / "run.yaml"
    sample.parent.mkdir(parents=True)
    sample.write_text("apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata:\n  name: x\nspec: {}\n")
    code, findings = run_lint("--root", str(tmp_path), str(sample))
    assert code == 1
    assert [(f["rule"], f["line"]) for f in findings] == [("unknown-kind", 2)]
    assert "tekton.dev/v1beta1" in findings[0]["message"]


@pytest.mark.parametrize("content", [b"", b"- just\n- a list\n", b"key: [unclosed\n", b"\xff\xfe\x00"])
def test_bad_input_gives_a_finding_never_a_traceback(tmp_path, content):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    result = CliRunner().invoke(lint, ["--no-tekton-lint", "--root", str(tmp_path), str(bad)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("bad.yaml:")


def test_text_output_names_file_line_path_rule_and_hint():
    result = CliRunner().invoke(lint, ["--no-tekton-lint", "--root", str(RULES), str(RULES / "undeclared-param.yaml")])
    first = result.output.splitlines()[0]
    assert first.startswith("undeclared-param.yaml:23 spec.steps[0].env[0].value [undeclared-param] error: ")
    assert " — declare it under spec.params" in first
    assert result.output.splitlines()[-1] == "1 error(s), 0 warning(s)"


def test_json_output_shape():
    code, findings = run_lint("--root", str(RULES), str(RULES / "duplicate-step.yaml"))
    assert set(findings[0]) == {"file", "line", "path", "rule", "severity", "message", "hint"}
    result = CliRunner().invoke(lint, ["--format", "json", "--no-tekton-lint", str(RULES / "duplicate-step.yaml")])
    assert json.loads(result.output)["summary"] == {"errors": 1, "warnings": 0}


def test_usage_error_exits_2():
    result = CliRunner().invoke(lint, ["--format", "xml"])
    assert result.exit_code == 2
    result = CliRunner().invoke(lint, ["does/not/exist.yaml"])
    assert result.exit_code == 2


STEP_ACTION = FIXTURES / "clean" / "stepactions" / "hello-step" / "0.1" / "hello-step.yaml"


@pytest.mark.parametrize("old,new,expected", [
    ("value: $(params.who)", "value: $(params.whom)", ("undeclared-param", "spec.env[0].value", 35)),
    ("$(step.results.greeting.path)", "/tmp/out", ("result-never-written", "spec.results[0]", 30)),
    ('"$WHO" >', '"$(params.who)" >', ("param-in-script", "spec.script", 47)),
    ('"$WHO" >', "\"$(params['who'])\" >", ("param-in-script", "spec.script", 47)),
    ("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true",
     ("security-context", "spec.securityContext.allowPrivilegeEscalation", 40)),
    ("base@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "base:latest",
     ("image-not-pinned", "spec.image", 32)),
])
def test_step_action_rules(tmp_path, old, new, expected):
    """The clean StepAction passes (test_clean_catalog_tree…); one change breaks one rule."""
    broken = tmp_path / "stepactions" / "hello-step" / "0.1" / "hello-step.yaml"
    broken.parent.mkdir(parents=True)
    text = STEP_ACTION.read_text(encoding="utf-8")
    assert old in text
    broken.write_text(text.replace(old, new), encoding="utf-8")
    shutil.copy(STEP_ACTION.parents[2] / "artifacthub-repo.yml", tmp_path / "stepactions")
    code, findings = run_lint("--root", str(tmp_path))
    errors = [(f["rule"], f["path"], f["line"]) for f in findings if f["severity"] == "error"]
    assert (code, errors) == (1, [expected])


PIPELINE = """apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: greet
spec:
  description: Uses the catalog Task hello by name.
  workspaces:
    - name: shared
  results:
    - name: greeting
      value: $(tasks.hello.results.{result})
  tasks:
    - name: hello
      taskRef:
        name: hello
      workspaces:
        - name: output
          workspace: shared
"""


@pytest.mark.parametrize("result,errors", [
    ("greeting", []),
    ("greetings", [("undeclared-task-ref", "spec.results[0].value", 11)]),
])
def test_pipeline_task_results_are_checked_against_the_catalog_task(tmp_path, result, errors):
    """A taskRef by name resolves to the Task of that name under --root."""
    shutil.copytree(FIXTURES / "clean", tmp_path, dirs_exist_ok=True)
    pipeline = tmp_path / "greet.yaml"
    pipeline.write_text(PIPELINE.replace("{result}", result), encoding="utf-8")
    code, findings = run_lint("--root", str(tmp_path), str(pipeline))
    assert [(f["rule"], f["path"], f["line"]) for f in findings if f["severity"] == "error"] == errors
    assert code == (1 if errors else 0)


@pytest.mark.parametrize("old,new,errors", [
    ("        name: hello\n", "        name: hello\n      params:\n        - name: whom\n          value: you\n",
     [("task-interface", "spec.tasks[0].params[0].name", 17)]),      # a typo Tekton would ignore
    ("        - name: output\n", "        - name: out\n",
     [("task-interface", "spec.tasks[0].workspaces", 16),             # hello's output unbound
      ("task-interface", "spec.tasks[0].workspaces[0].name", 17)]),   # and `out` not declared by hello
    ("      workspaces:\n        - name: output\n          workspace: shared\n", "",
     [("task-interface", "spec.tasks[0].name", 13)]),
    # the same Task through the resolvers `interlock run` answers from the catalog
    ("        name: hello\n", "        resolver: git\n        params:\n          - name: pathInRepo\n"
     "            value: tasks/hello/0.1/hello.yaml\n      params:\n        - name: whom\n          value: you\n",
     [("task-interface", "spec.tasks[0].params[0].name", 20)]),
    ("        name: hello\n", "        resolver: hub\n        params:\n          - name: name\n            value: hello\n"
     "          - name: version\n            value: \"0.1\"\n      params:\n        - name: whom\n          value: you\n",
     [("task-interface", "spec.tasks[0].params[0].name", 22)]),
])
def test_pipeline_tasks_pass_what_their_catalog_task_declares(tmp_path, old, new, errors):
    shutil.copytree(FIXTURES / "clean", tmp_path, dirs_exist_ok=True)
    text = PIPELINE.replace("{result}", "greeting")
    assert old in text
    pipeline = tmp_path / "greet.yaml"
    pipeline.write_text(text.replace(old, new), encoding="utf-8")
    code, findings = run_lint("--root", str(tmp_path), str(pipeline))
    assert [(f["rule"], f["path"], f["line"]) for f in findings if f["severity"] == "error"] == errors
    assert code == 1


def test_task_of_the_wrong_kind_for_its_folder(tmp_path):
    shutil.copytree(FIXTURES / "clean" / "tasks", tmp_path / "pipelines")
    code, findings = run_lint("--root", str(tmp_path))
    assert code == 1
    assert [(f["rule"], f["path"], f["hint"]) for f in findings] == [("unknown-kind", "kind", "move it to tasks/")]


TIMEOUTS = {  # every duration field of every kind, with a value Go's time.ParseDuration refuses
    "Task step": ("Task", {"steps": [{"name": "s", "image": "i", "timeout": "notaduration"}]},
                  "spec.steps[0].timeout"),
    "Pipeline task": ("Pipeline", {"tasks": [{"name": "t", "taskRef": {"name": "x"}, "timeout": "soon"}]},
                      "spec.tasks[0].timeout"),
    "Pipeline finally": ("Pipeline", {"tasks": [{"name": "t", "taskRef": {"name": "x"}}],
                                      "finally": [{"name": "f", "taskRef": {"name": "x"}, "timeout": "1d"}]},
                         "spec.finally[0].timeout"),
    "inline taskSpec step": ("Pipeline", {"tasks": [{"name": "t", "taskSpec": {"steps": [
        {"name": "s", "image": "i", "timeout": "10 minutes"}]}}]}, "spec.tasks[0].taskSpec.steps[0].timeout"),
    "TaskRun": ("TaskRun", {"taskRef": {"name": "x"}, "timeout": "1h30"}, "spec.timeout"),
    "PipelineRun timeouts.pipeline": ("PipelineRun", {"pipelineRef": {"name": "p"}, "timeouts": {"pipeline": "2days"}},
                                      "spec.timeouts.pipeline"),
    "PipelineRun timeouts.tasks": ("PipelineRun", {"pipelineRef": {"name": "p"}, "timeouts": {"tasks": "-5m"}},
                                   "spec.timeouts.tasks"),
    "PipelineRun timeouts.finally": ("PipelineRun", {"pipelineRef": {"name": "p"}, "timeouts": {"finally": "."}},
                                     "spec.timeouts.finally"),
    "taskRunSpecs": ("PipelineRun", {"pipelineRef": {"name": "p"},
                                     "taskRunSpecs": [{"pipelineTaskName": "t", "timeout": "5 s"}]},
                     "spec.taskRunSpecs[0].timeout"),
}


@pytest.mark.parametrize("case", TIMEOUTS, ids=list(TIMEOUTS))
def test_every_duration_field_is_checked_with_go_grammar(tmp_path, case):
    kind, spec, where = TIMEOUTS[case]
    path = tmp_path / "doc.yaml"
    path.write_text(json.dumps({"apiVersion": "tekton.dev/v1", "kind": kind, "metadata": {"name": "x"},
                                "spec": spec}), encoding="utf-8")
    _, findings = run_lint("--root", str(tmp_path), str(path))
    assert [(f["rule"], f["path"]) for f in findings if f["rule"] in ("duration", "schema")] == [("duration", where)]
    [finding] = [f for f in findings if f["rule"] == "duration"]
    assert "is not a valid timeout" in finding["message"] and "90s" in finding["hint"]


@pytest.mark.parametrize("value", ["0", "0s", "90s", "1h30m", "1.5h", "500ms", "+10m", ".5s"])
def test_valid_durations_pass(tmp_path, value):
    path = tmp_path / "doc.yaml"
    path.write_text(json.dumps({"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "x"},
                                "spec": {"taskRef": {"name": "x"}, "timeout": value}}), encoding="utf-8")
    _, findings = run_lint("--root", str(tmp_path), str(path))
    assert [f for f in findings if f["rule"] in ("duration", "schema")] == []


def test_a_run_file_of_several_documents_is_linted_document_by_document(tmp_path):
    """Outside the catalog's own resource files, a file may hold a run and what it uses (as for
    `kubectl apply -f`): each document is checked, and its findings point into the file."""
    run = tmp_path / "run.yaml"
    run.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
                   "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\n"
                   "spec:\n  taskRef: {name: t}\n  timeoutt: 1h\n")
    code, findings = run_lint("--root", str(tmp_path), str(run))
    assert code == 1
    assert [(f["rule"], f["path"], f["line"]) for f in findings] == [
        ("schema", "spec.timeoutt", 10)]
