"""Semantic rules over one parsed Tekton document. Each check yields Hits; the command turns
them into Findings with the file and line. The rules are documented in RULES.md."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from interlock.lint import references as R
from interlock.lint.yaml_loader import Key


@dataclass(frozen=True)
class Hit:
    key: Key
    rule: str
    message: str
    hint: str
    severity: str = "error"
    offset: int | None = None  # inside the string at key, for an exact line in a script


def _at(ref: R.Ref, rule: str, message: str, hint: str) -> Hit:
    return Hit(ref.key, rule, message, hint, offset=ref.offset)


@dataclass(frozen=True)
class Place:
    """Where a catalog resource file sits: <root>/<tasks|pipelines>/<name>/<version>/<file>."""

    kind_folder: str
    name: str
    version: str
    file: Path


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def names(items: Any) -> set[str]:
    return {i["name"] for i in as_list(items) if isinstance(i, dict) and isinstance(i.get("name"), str)}


# --- references inside one Task spec (a catalog Task, or a Pipeline's embedded taskSpec) ---

def task_spec(spec: dict, at: Key, outer_params: set[str] = frozenset(),
              outer_workspaces: set[str] = frozenset()) -> Iterator[Hit]:
    """References, results, step names and scripts of one TaskSpec at document path `at`.
    outer_* are what a Pipeline propagates into an embedded taskSpec."""
    params = names(spec.get("params")) | set(outer_params)
    results = names(spec.get("results"))
    workspaces = names(spec.get("workspaces")) | set(outer_workspaces)
    steps = [s for s in as_list(spec.get("steps")) if isinstance(s, dict)]
    step_names = [s.get("name") for s in steps]

    seen: dict[str, int] = {}
    for i, step_name in enumerate(step_names):
        if not isinstance(step_name, str):
            continue
        if step_name in seen:
            yield Hit(at + ("steps", i, "name"), "duplicate-step",
                      f"step name `{step_name}` is already used by steps[{seen[step_name]}]",
                      "give every step a unique name")
        seen.setdefault(step_name, i)

    written: set[str] = set()
    for ref in R.refs(spec, at):
        yield from _task_ref(ref, params, results, workspaces, steps, at)
        m = R.RESULT.match(ref.expr)
        if m and ref.key[len(at):len(at) + 1] in (("steps",), ("stepTemplate",), ("sidecars",)):
            written.add(R.name(m))
    for key, text in R.strings(spec.get("steps"), at + ("steps",)):
        written.update(re.findall(r"/tekton/results/([A-Za-z0-9_.-]+)", text))

    for i, result in enumerate(as_list(spec.get("results"))):
        if not isinstance(result, dict) or not isinstance(result.get("name"), str):
            continue
        # a result may be filled from a step result (`value: $(steps.s.results.r)`)
        if result["name"] not in written and not isinstance(result.get("value"), (str, list, dict)):
            yield Hit(at + ("results", i), "result-never-written",
                      f"result `{result['name']}` is declared but no step writes $(results.{result['name']}.path)",
                      "pass $(results.<name>.path) to the step (env/args) and write it, or drop the result")

    yield from params_in_script(spec, at)


def params_in_script(spec: dict, at: Key) -> Iterator[Hit]:
    """`$(params.x)` is pasted into a script before it runs: a value with quotes or `;`
    becomes code. https://tekton.dev/docs/pipelines/tasks/#running-scripts-within-steps"""
    for ref in R.refs(spec, at):
        if ref.in_script and R.PARAM.match(ref.expr):
            yield _at(ref, "param-in-script", f"$({ref.expr}) is spliced into a script (shell injection)",
                      "pass the param through env (`value: $(params.x)`) or args and read it in the script")


def _task_ref(ref: R.Ref, params: set[str], results: set[str], workspaces: set[str],
              steps: list[dict], at: Key) -> Iterator[Hit]:
    expr = ref.expr
    if m := R.PARAM.match(expr):
        if R.name(m) not in params:
            yield _at(ref, "undeclared-param", f"$({expr}) refers to param `{R.name(m)}`, which is not declared",
                      f"declare it under spec.params or fix the name (declared: {', '.join(sorted(params)) or 'none'})")
    elif m := R.RESULT.match(expr):
        if R.name(m) not in results:
            yield _at(ref, "undeclared-result", f"$({expr}) refers to result `{R.name(m)}`, which is not declared",
                      f"declare it under spec.results (declared: {', '.join(sorted(results)) or 'none'})")
    elif m := R.WORKSPACE.match(expr):
        if R.name(m) not in workspaces:
            yield _at(ref, "undeclared-workspace",
                      f"$({expr}) refers to workspace `{R.name(m)}`, which is not declared",
                      f"declare it under spec.workspaces (declared: {', '.join(sorted(workspaces)) or 'none'})")
    elif m := R.STEP_RESULT.match(expr):
        step_index = ref.key[len(at) + 1] if ref.key[len(at):len(at) + 1] == ("steps",) else None
        own = names(steps[step_index].get("results")) \
            if isinstance(step_index, int) and step_index < len(steps) else set()
        if R.name(m) not in own:
            yield _at(ref, "undeclared-result", f"$({expr}) refers to step result `{R.name(m)}`, "
                      "which this step does not declare", "declare it under the step's `results`")
    elif expr.startswith("steps."):
        yield from _step_ref(ref, steps)


def _step_ref(ref: R.Ref, steps: list[dict]) -> Iterator[Hit]:
    m = R.STEP.match(ref.expr)
    by_name = {s["name"]: s for s in steps if isinstance(s.get("name"), str)}
    if not m:
        yield _at(ref, "undeclared-step-ref", f"$({ref.expr}) is not a step reference Tekton knows",
                  "use $(steps.<step>.results.<result>) or $(steps.step-<step>.exitCode.path)")
        return
    step_name, what = m.group(1), m.group(2)
    if what == "exitCode":
        step_name = step_name.removeprefix("step-")
    if step_name not in by_name:
        yield _at(ref, "undeclared-step-ref", f"$({ref.expr}) refers to step `{step_name}`, which does not exist",
                  f"use one of the steps: {', '.join(sorted(n for n in by_name if isinstance(n, str))) or 'none'}")
        return
    step = by_name[step_name]
    result = R.name(m, 3) if what == "results" else None
    if result and "ref" not in step and result not in names(step.get("results")):
        yield _at(ref, "undeclared-step-ref",
                  f"$({ref.expr}) refers to result `{result}` of step `{step_name}`, which it does not declare",
                  "declare the result under that step's `results`")


# --- Pipelines ---

TaskSpecOf = Callable[[dict], "dict | None"]  # a pipeline task -> the Task spec it runs, None if unknown


def _by_name(items: Any) -> dict[str, dict]:
    return {t["name"]: t for t in as_list(items) if isinstance(t, dict) and isinstance(t.get("name"), str)}


def pipeline_spec(spec: dict, at: Key, spec_of: TaskSpecOf) -> Iterator[Hit]:
    params = names(spec.get("params"))
    workspaces = names(spec.get("workspaces"))
    tasks, final = _by_name(spec.get("tasks")), _by_name(spec.get("finally"))

    for ref in R.refs(spec, at, skip=("taskSpec",)):
        expr = ref.expr
        if (m := R.PARAM.match(expr)) and R.name(m) not in params:
            yield _at(ref, "undeclared-param", f"$({expr}) refers to pipeline param `{R.name(m)}`, "
                      "which is not declared",
                      f"declare it under spec.params (declared: {', '.join(sorted(params)) or 'none'})")
        elif (m := R.WORKSPACE.match(expr)) and R.name(m) not in workspaces:
            yield _at(ref, "undeclared-workspace", f"$({expr}) refers to pipeline workspace `{R.name(m)}`, "
                      "which is not declared", "declare it under spec.workspaces")
        elif expr.startswith(("tasks.", "finally.")):
            yield from _pipeline_task_ref(ref, tasks, final, spec_of)

    for section in ("tasks", "finally"):
        for i, task in enumerate(as_list(spec.get(section))):
            if not isinstance(task, dict):
                continue
            here = at + (section, i)
            for j, name in enumerate(as_list(task.get("runAfter"))):
                if isinstance(name, str) and name not in tasks:
                    yield Hit(here + ("runAfter", j), "undeclared-task-ref",
                              f"runAfter names `{name}`, which is not a task of this pipeline",
                              f"use one of: {', '.join(sorted(tasks)) or 'none'}")
            for j, ws in enumerate(as_list(task.get("workspaces"))):
                if isinstance(ws, dict) and isinstance(ws.get("workspace"), str) and ws["workspace"] not in workspaces:
                    yield Hit(here + ("workspaces", j, "workspace"), "undeclared-workspace",
                              f"task `{task.get('name')}` binds pipeline workspace `{ws.get('workspace')}`, "
                              "which is not declared", "declare it under the pipeline's spec.workspaces")
            if isinstance(task.get("taskSpec"), dict):
                yield from task_spec(task["taskSpec"], here + ("taskSpec",),
                                     params | names(task.get("params")),
                                     workspaces | names(task.get("workspaces")))
            runs = spec_of(task)
            if runs is not None:
                yield from _task_interface(task, here, runs)

    for i, result in enumerate(as_list(spec.get("results"))):
        if isinstance(result, dict) and not any(
                r.expr.startswith(("tasks.", "finally.")) for r in R.refs(result.get("value"))):
            yield Hit(at + ("results", i, "value"), "result-never-written",
                      f"pipeline result `{result.get('name')}` is not taken from any task's result",
                      "set value: $(tasks.<task>.results.<result>)")


def _task_interface(task: dict, here: Key, runs: dict) -> Iterator[Hit]:
    """What a pipeline task passes against the Task it runs: every param it passes is declared
    (Tekton ignores an unknown one, so a typo silently becomes the default), every required param
    is passed, every workspace it binds is declared and every required workspace is bound.
    An embedded taskSpec may be passed params it does not declare (they propagate)."""
    name, embedded = task.get("name"), isinstance(task.get("taskSpec"), dict)
    what = "its taskSpec" if embedded else f"Task `{as_dict(task.get('taskRef')).get('name') or 'referenced'}`"
    declared = _by_name(runs.get("params"))
    passed = as_list(task.get("params"))
    for j, p in enumerate(passed):
        if not embedded and isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] not in declared:
            yield Hit(here + ("params", j, "name"), "task-interface",
                      f"task `{name}` passes param `{p['name']}`, which {what} does not declare",
                      f"Tekton ignores it: use one of {', '.join(sorted(declared)) or 'none'}")
    for param, decl in declared.items():
        if "default" not in decl and param not in names(passed):
            yield Hit(here + (("params",) if "params" in task else ("name",)), "task-interface",
                      f"task `{name}` does not pass param `{param}`, which {what} requires (no default)",
                      f"pass it: `- name: {param}` with a value")
    spaces = _by_name(runs.get("workspaces"))
    bound = as_list(task.get("workspaces"))
    for j, w in enumerate(bound):
        if isinstance(w, dict) and isinstance(w.get("name"), str) and w["name"] not in spaces:
            yield Hit(here + ("workspaces", j, "name"), "task-interface",
                      f"task `{name}` binds workspace `{w['name']}`, which {what} does not declare",
                      f"bind one of {', '.join(sorted(spaces)) or 'none'}")
    for ws, decl in spaces.items():
        if not decl.get("optional") and ws not in names(bound):
            yield Hit(here + (("workspaces",) if "workspaces" in task else ("name",)), "task-interface",
                      f"task `{name}` does not bind workspace `{ws}`, which {what} requires",
                      f"bind it: `- name: {ws}` with `workspace: <a pipeline workspace>`")


def _pipeline_task_ref(ref: R.Ref, tasks: dict, final: dict, spec_of: TaskSpecOf) -> Iterator[Hit]:
    m = R.TASK.match(ref.expr)
    if not m:
        return  # $(tasks.status) and friends
    scope, task_name, what = m.group(1), m.group(2), m.group(3)
    pool = tasks if scope == "tasks" else final
    if task_name not in pool:
        what = "task" if scope == "tasks" else "finally task"
        yield _at(ref, "undeclared-task-ref", f"$({ref.expr}) refers to {what} `{task_name}`, which does not exist",
                  f"use one of: {', '.join(sorted(pool)) or 'none'}")
        return
    result = R.name(m, 4) if what == "results" else None
    runs = spec_of(pool[task_name])
    known = names(runs.get("results")) if runs is not None else None
    if result and known is not None and result not in known:
        yield _at(ref, "undeclared-task-ref", f"$({ref.expr}): task `{task_name}` has no result `{result}`",
                  f"its results are: {', '.join(sorted(known)) or 'none'}")


# --- step hygiene: image pins, security context, secret params ---

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
SECRET_WORDS = {"secret", "token", "password", "passwd", "key", "apikey", "credential", "credentials"}


def containers(spec: dict, at: Key) -> Iterator[tuple[Key, dict]]:
    for section in ("steps", "sidecars"):
        for i, c in enumerate(as_list(spec.get(section))):
            if isinstance(c, dict):
                yield at + (section, i), c


def image_pins(spec: dict, at: Key, is_step_action: bool = False) -> Iterator[Hit]:
    found = [(at, spec)] if is_step_action else list(containers(spec, at))
    template = as_dict(spec.get("stepTemplate"))
    if "image" in template:
        found.append((at + ("stepTemplate",), template))
    for key, c in found:
        image = c.get("image")
        if image is None and "ref" in c:
            continue  # the StepAction it refers to is checked on its own
        if not isinstance(image, str) or not DIGEST.search(image):
            what = f"image {image!r} is not pinned by digest" if image else "no image is set"
            yield Hit(key + ("image",), "image-not-pinned", what,
                      "pin it: localhost/interlock/<name>@sha256:<digest> (`interlock images` prints digests)")


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def security(spec: dict, at: Key, is_step_action: bool = False) -> Iterator[Hit]:
    """Pod Security "restricted" for every step and sidecar (stepTemplate merged under steps).
    https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"""
    template = as_dict(as_dict(spec.get("stepTemplate")).get("securityContext"))
    found = [(at, spec)] if is_step_action else list(containers(spec, at))
    for key, c in found:
        if "ref" in c and "image" not in c:
            continue
        own = as_dict(c.get("securityContext"))
        sc = _merge(template, own) if key[len(at):len(at) + 1] == ("steps",) else own
        where = key + ("securityContext",)
        name = c.get("name") or "the StepAction"
        checks = [
            (sc.get("runAsNonRoot") is True, "runAsNonRoot", "runAsNonRoot is not true", "runAsNonRoot: true"),
            (sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation",
             "allowPrivilegeEscalation is not false", "allowPrivilegeEscalation: false"),
            ("ALL" in as_list(as_dict(sc.get("capabilities")).get("drop")), "capabilities",
             "capabilities.drop does not contain ALL", "capabilities: {drop: [ALL]}"),
            (set(as_list(as_dict(sc.get("capabilities")).get("add"))) <= {"NET_BIND_SERVICE"}, "capabilities",
             "capabilities.add grants more than NET_BIND_SERVICE", "remove the added capabilities"),
            (as_dict(sc.get("seccompProfile")).get("type") in ("RuntimeDefault", "Localhost"), "seccompProfile",
             "seccompProfile.type is not RuntimeDefault", "seccompProfile: {type: RuntimeDefault}"),
            (sc.get("privileged") is not True, "privileged", "privileged is true", "privileged: false"),
            (sc.get("runAsUser") != 0, "runAsUser", "runAsUser is 0 (root)", "runAsUser: 65532"),
        ]
        for ok, field, problem, fix in checks:
            if not ok:
                hint = f"set securityContext.{fix} on the step or in spec.stepTemplate"
                yield Hit(where + (field,), "security-context",
                          f"`{name}` does not meet Pod Security restricted: {problem}", hint)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def secret_params(spec: dict, at: Key) -> Iterator[Hit]:
    """A param named like a secret carries it in plain text (TaskRun YAML, logs, the API).
    A param that only names a Secret object (`…-secret-name`, `…-secret-ref`) or where one is
    mounted (`…-credentials-path`, as a generated StepAction's workspace param) is fine."""
    for i, p in enumerate(as_list(spec.get("params"))):
        name = p.get("name") if isinstance(p, dict) else None
        if not isinstance(name, str):
            continue
        words = _words(name)
        if SECRET_WORDS & set(words) and words[-1] not in ("name", "ref", "path"):
            yield Hit(at + ("params", i, "name"), "secret-param",
                      f"param `{name}` looks like it carries a secret",
                      "read secrets from a Secret (env valueFrom.secretKeyRef or a workspace), "
                      "or rename it `<x>-secret-name` if it only names the Secret")


# --- StepActions (tekton.dev/v1beta1): one step's worth of params, results and script ---

def step_action(spec: dict, at: Key) -> Iterator[Hit]:
    params, results = names(spec.get("params")), names(spec.get("results"))
    written: set[str] = set()
    for ref in R.refs(spec, at):
        if (m := R.PARAM.match(ref.expr)) and R.name(m) not in params:
            yield _at(ref, "undeclared-param", f"$({ref.expr}) refers to param `{R.name(m)}`, which is not declared",
                      f"declare it under spec.params (declared: {', '.join(sorted(params)) or 'none'})")
        elif m := R.STEP_RESULT.match(ref.expr):
            written.add(R.name(m))
            if R.name(m) not in results:
                yield _at(ref, "undeclared-result", f"$({ref.expr}) refers to result `{R.name(m)}`, "
                          "which is not declared", "declare it under spec.results")
    for i, result in enumerate(as_list(spec.get("results"))):
        if isinstance(result, dict) and isinstance(result.get("name"), str) and result["name"] not in written:
            yield Hit(at + ("results", i), "result-never-written",
                      f"result `{result.get('name')}` is declared but never written to $(step.results.<name>.path)",
                      "pass $(step.results.<name>.path) to the program (env/args) and write it, or drop the result")
    yield from params_in_script(spec, at)
