"""Invalid input fails before any container starts, naming the file and field; variable
substitution and param rules follow Tekton v1. No podman needed (except the marked CLI test)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.run import params as params_mod
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions
from interlock.run.taskrun import run_taskrun
from interlock.run.variables import (InvalidReference, UndeclaredReference, references,
                                     substitute)

TASKRUNS = Path(__file__).parent / "taskruns"

BASE = {
    "apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "v"},
    "spec": {"params": [{"name": "mode", "value": "fast"}],
             "taskSpec": {"params": [{"name": "mode", "enum": ["fast", "slow"]},
                                     {"name": "list", "type": "array", "default": ["a"]},
                                     {"name": "obj", "type": "object",
                                      "properties": {"k": {"type": "string"}},
                                      "default": {"k": "v"}}],
                          "results": [{"name": "out"}],
                          "steps": [{"name": "s", "image": "nowhere/never:1",
                                     "args": ["$(params.mode)"]}]}},
}


def taskrun(**edit) -> dict:
    tr = copy.deepcopy(BASE)
    for path, value in edit.items():
        node = tr
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return tr


ENUM = {"enable-param-enum": "true"}  # BASE uses `enum`, off by default in Tekton v1.15


def plan(tr: dict, **options) -> None:
    """Run in dry-run mode: everything is resolved and checked, nothing starts."""
    options.setdefault("feature_flags", ENUM)
    out = run_taskrun(tr, options=RunOptions(dry_run=True, **options), where="tr.yaml")
    assert out.reason == "DryRun"
    return out


# -- variables ---------------------------------------------------------------------------------

def test_substitute_expands_arrays_objects_and_bracket_names():
    v = {"params.a": "x", "params.arr": ["1", "2"], "params.obj": {"k": "v"}, "params.b.c": "dot"}
    assert substitute(["$(params.arr[*])", "$(params['a'])-$(params.obj.k)", "$(params[\"b.c\"])",
                       "$(params.arr[1])"], v) == ["1", "2", "x-v", "dot", "2"]
    # a whole-string [*] reference outside a list yields the value itself
    assert substitute({"value": "$(params.arr[*])"}, v) == {"value": ["1", "2"]}
    # shell command substitution is not a Tekton variable
    assert substitute("$(date) $( params.a )", v) == "$(date) x"


def test_substitute_errors():
    with pytest.raises(UndeclaredReference, match=r"\$\(params.missing\)"):
        substitute("$(params.missing)", {})
    with pytest.raises(UndeclaredReference, match="has no key 'nokey'"):
        substitute("$(params.obj.nokey)", {"params.obj": {"k": "v"}})
    with pytest.raises(InvalidReference, match="whole list item"):
        substitute("x $(params.arr[*])", {"params.arr": ["1"]})
    # prefixes outside `strict` stay for later
    assert substitute("$(steps.s.results.r)", {}, strict={"params"}) == "$(steps.s.results.r)"


def test_references_are_normalised():
    assert references({"a": ["$(params[\"x\"]) $(tasks.t.results.r)", "$(params.arr[*])"]}) == \
        {"params.x", "tasks.t.results.r", "params.arr[*]"}


# -- params ------------------------------------------------------------------------------------

def test_params_defaults_and_json_from_the_command_line():
    values = params_mod.resolve(BASE["spec"]["taskSpec"]["params"],
                                {"mode": "slow", "list": '["p", "q"]', "obj": '{"k": "w"}'},
                                where="t", given_where="g", cli={"mode", "list", "obj"})
    assert values == {"mode": "slow", "list": ["p", "q"], "obj": {"k": "w"}}
    # in YAML a JSON string is a string: Tekton refuses it for an array or object param
    with pytest.raises(InvalidRun, match="type mismatch: param is an array"):
        params_mod.resolve(BASE["spec"]["taskSpec"]["params"], {"mode": "slow", "list": '["p"]'},
                           where="t", given_where="g")


@pytest.mark.parametrize("edit, fragment", [
    ({"spec__params": []}, "missing required param 'mode'"),
    ({"spec__params": [{"name": "mode", "value": ["fast"]}]}, "type mismatch: param is a string"),
    ({"spec__params": [{"name": "mode", "value": "medium"}]}, "'medium' is not in its enum"),
    # keys missing from an object value come from its default (Tekton merges them) ...
    ({"spec__params": [{"name": "mode", "value": "fast"}, {"name": "obj", "value": {"z": "1"}}],
      "spec__taskSpec__params__2": {"name": "obj", "type": "object", "properties": {"k": {}}}},
     "missing key(s) k"),
    ({"spec__params": [{"name": "mode", "value": "fast"}, {"name": "list", "value": "a"}]},
     "type mismatch: param is an array"),
    # ... but a key the object does not declare is refused, as Tekton refuses it
    ({"spec__params": [{"name": "mode", "value": "fast"}, {"name": "obj", "value": {"z": "1"}}]},
     "has key(s) z not declared"),
])
def test_param_errors_name_the_file_and_field(edit, fragment):
    with pytest.raises(InvalidRun) as e:
        plan(taskrun(**edit))
    assert fragment in str(e.value)
    assert str(e.value).startswith("tr.yaml")


def test_object_param_keys_fall_back_to_the_default():
    out = plan(taskrun(spec__params=[{"name": "mode", "value": "fast"},
                                     {"name": "obj", "value": {"z": "1"}}],
                       spec__taskSpec__params__2={"name": "obj", "type": "object",
                                                  "properties": {"k": {}, "z": {}},
                                                  "default": {"k": "v"}},
                       spec__taskSpec__steps__0__args=["$(params.obj.k)", "$(params.obj.z)"]))
    assert out.plan["steps"][0]["args"] == ["v", "1"]


def test_undeclared_cli_param_is_refused():
    with pytest.raises(InvalidRun, match="'typo' not declared"):
        run_taskrun(taskrun(), options=RunOptions(dry_run=True, feature_flags=ENUM),
                    params_override={"typo": "1"})


# -- references, structure, unsupported ------------------------------------------------------

@pytest.mark.parametrize("arg, fragment", [
    ("$(params.nope)", "$(params.nope) is not declared"),
    ("$(results.nope.path)", "$(results.nope.path) is not declared"),
    ("$(workspaces.nope.path)", "$(workspaces.nope.path) is not declared"),
    ("$(context.taskRun.nope)", "$(context.taskRun.nope) is not declared"),
    ("$(steps.later.results.r)", "not an earlier step"),
    ("$(tasks.a.results.r)", "only be used in a Pipeline"),
    ("-x=$(params.list[*])", "can only be used as a whole list item"),
])
def test_undeclared_references_fail_before_running(arg, fragment):
    with pytest.raises(InvalidRun) as e:
        plan(taskrun(spec__taskSpec__steps__0__args=[arg]))
    assert fragment in str(e.value)
    assert "spec.taskSpec.steps[0]" in str(e.value)


def test_unknown_task_ref_names_the_field():
    tr = taskrun()
    tr["spec"].pop("taskSpec")
    tr["spec"]["taskRef"] = {"name": "no-such-task"}
    with pytest.raises(InvalidRun, match=r"spec.taskRef.name: unknown Task 'no-such-task'"):
        plan(tr)


@pytest.mark.parametrize("edit, fragment", [
    ({"spec__taskSpec__volumes": [{"name": "p", "projected": {"sources": [{"downwardAPI": {}}]}}]},
     "projected source downwardAPI"),
    ({"spec__taskSpec__steps__0__when": [{"input": "a", "operator": "in", "values": ["a"]}]},
     "step `when`"),
    ({"spec__taskSpec__volumes": [{"name": "h", "hostPath": {"path": "/"}}]}, "volume type hostPath"),
    ({"spec__taskSpec__steps__0__securityContext": {"privileged": True}}, "privileged"),
    ({"spec__status": "TaskRunCancelled"}, "TaskRun status"),
])
def test_unsupported_features_are_refused(edit, fragment):
    with pytest.raises(Unsupported, match=fragment):
        plan(taskrun(**edit))


def test_unknown_step_field_and_missing_image():
    with pytest.raises(InvalidRun, match=r"steps\[0\].imagee: unknown field"):
        plan(taskrun(spec__taskSpec__steps__0__imagee="x"))
    tr = taskrun()
    del tr["spec"]["taskSpec"]["steps"][0]["image"]
    with pytest.raises(InvalidRun, match=r"steps\[0\].image: missing"):
        plan(tr)


def test_missing_stand_ins_and_workspaces():
    tr = taskrun(spec__taskSpec__steps__0__env=[
        {"name": "T", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}])
    with pytest.raises(InvalidRun, match="secret 'api' has no stand-in: add a Secret document named 'api' to the run file, or pass --secret api=DIR"):
        plan(tr)
    tr = taskrun(spec__taskSpec__workspaces=[{"name": "src"}])
    with pytest.raises(InvalidRun, match="workspace 'src' .* is not bound: pass -w src=DIR"):
        plan(tr)


def test_multi_line_variables_podman_reads_itself_are_refused(tmp_path):
    # env goes through an env-file; only a value no env-file line can hold (a line break)
    # travels in podman's own environment, where PATH would be podman's
    secret = tmp_path / "s"
    secret.mkdir()
    (secret / "PATH").write_text("/evil")
    tr = taskrun(spec__taskSpec__steps__0__envFrom=[{"secretRef": {"name": "s"}}])
    assert "PATH" in plan(tr, secrets={"s": secret}).plan["steps"][0]["env"]
    (secret / "PATH").write_text("/evil\n/more")
    with pytest.raises(Unsupported, match="value in a variable named PATH"):
        plan(tr, secrets={"s": secret})
    # with a prefix it is an ordinary variable
    tr = taskrun(spec__taskSpec__steps__0__envFrom=[{"secretRef": {"name": "s"}, "prefix": "S_"}])
    assert "S_PATH" in plan(tr, secrets={"s": secret}).plan["steps"][0]["env"]


def test_dry_run_plan_lists_images_commands_env_names_and_mounts(tmp_path):
    secret = tmp_path / "api"
    secret.mkdir()
    (secret / "token").write_text("do-not-print-me")
    tr = taskrun(spec__taskSpec__steps__0__env=[
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
        {"name": "PLAIN", "value": "1"}])
    out = plan(tr, secrets={"api": secret}, image_map={"nowhere/never:1": "localhost/x:1"})
    step = out.plan["steps"][0]
    assert step["image"] == "localhost/x:1"
    assert step["args"] == ["fast"]
    assert step["env"] == ["PLAIN", "TOKEN"]  # no HOME of the runner's: the image's
    assert "<run>/results:/tekton/results:rw" in step["mounts"]
    assert "do-not-print-me" not in json.dumps(out.to_dict())


# -- the command -----------------------------------------------------------------------------

def cli(*args):
    from interlock.run.command import run
    return CliRunner().invoke(run, list(args))


def test_cli_invalid_yaml_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: TaskRun\nspec: [unclosed\n")
    r = cli(str(bad))
    assert r.exit_code == 2
    assert f"{bad}: invalid YAML" in r.output


def test_cli_missing_param_exits_2_as_json(tmp_path):
    f = tmp_path / "tr.yaml"
    f.write_text(json.dumps(taskrun(spec__params=[])))
    r = cli(str(f), "-o", "json", "--feature-flags", "enable-param-enum=true")
    assert r.exit_code == 2
    assert json.loads(r.output.splitlines()[0])["error"].endswith(
        "missing required param 'mode' (string, declared at "
        f"{f}: spec.taskSpec.params[0], no default)")


def test_cli_dry_run_prints_the_plan(tmp_path):
    r = cli(str(TASKRUNS / "params.yaml"), "--dry-run", "--image-map", "interlock-tools=localhost/t:1",
            "--feature-flags", "enable-param-enum=true")
    assert r.exit_code == 0, r.output
    assert "image: localhost/t:1" in r.output
    assert "- two words" in r.output
    # a script step shows its script, parameters substituted, after Tekton's default shebang
    assert "#!/bin/sh\n    set -e\n    printf %s \"$URL\"" in r.output


@pytest.mark.containers
def test_cli_exit_codes_and_summary(tools_image):
    ok = cli(str(TASKRUNS / "onerror-continue.yaml"), "--image-map", f"interlock-tools={tools_image}")
    assert ok.exit_code == 0, ok.output
    assert "TaskRun onerror-continue: Succeeded=True reason=Succeeded" in ok.output
    assert "result seen-exit-code = 3" in ok.output
    failed = cli(str(TASKRUNS / "onerror-stop.yaml"), "--image-map", f"interlock-tools={tools_image}",
                 "-o", "json")
    assert failed.exit_code == 1
    outcome = json.loads(failed.output[failed.output.index("{\n"):])
    assert outcome["condition"]["reason"] == "Failed"
    assert [s["reason"] for s in outcome["steps"]] == ["Completed", "Error", "Skipped"]


def test_cli_structural_errors_come_from_the_tekton_schema(tmp_path):
    f = tmp_path / "typo.yaml"
    tr = taskrun()
    tr["spec"]["taskSpec"]["steps"][0]["comand"] = ["true"]
    f.write_text(json.dumps(tr, indent=1))
    r = cli(str(f))
    assert r.exit_code == 2
    assert "spec.taskSpec.steps[0].comand: unknown field `comand`" in r.output
    assert "did you mean `command`?" in r.output


def test_pipeline_context_comes_from_the_taskrun_annotations():
    tr = taskrun(spec__taskSpec__steps__0__args=[
        "$(context.pipelineRun.name)", "$(context.pipelineRun.uid)",
        "$(context.pipelineTask.retries)", "$(context.task.retry-count)"])
    tr["metadata"].update({
        "labels": {"tekton.dev/pipelineTask": "build"},
        "annotations": {"interlock.dev/pipelinerun-name": "pr", "interlock.dev/pipelinerun-uid": "u-1",
                        "interlock.dev/pipelinetask-retries": "2", "interlock.dev/retry-count": "1"}})
    out = plan(tr)
    assert out.plan["steps"][0]["args"] == ["pr", "u-1", "2", "1"]
    assert out.pipeline_task == "build"


def test_the_taskrun_uid_is_its_metadata_uid_when_it_has_one():
    tr = taskrun(spec__taskSpec__steps__0__args=["$(context.taskRun.uid)"])
    tr["metadata"]["uid"] = "6f1c2d3e-0000-4a1b-9c2d-1234567890ab"
    assert plan(tr).plan["steps"][0]["args"] == ["6f1c2d3e-0000-4a1b-9c2d-1234567890ab"]


def test_pipeline_context_is_undeclared_outside_a_pipeline():
    with pytest.raises(InvalidRun, match=r"\$\(context.pipelineRun.name\) is not declared"):
        plan(taskrun(spec__taskSpec__steps__0__args=["$(context.pipelineRun.name)"]))
