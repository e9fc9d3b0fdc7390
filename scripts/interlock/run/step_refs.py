"""Steps that refer to a StepAction (`ref:`), turned into plain steps as Tekton's reconciler
does before it builds the pod (tektoncd/pipeline pkg/reconciler/taskrun/resources/taskspec.go
resolveStepRef, apply.go applyStepActionParameters).

The StepAction comes from the run file, `--stepaction FILE`, the catalog's
stepactions/<name>/<version>/ or a resolver (resolve.resolve_ref). Its params get, in Tekton's
order: the step's `params` (after the Task's own params are substituted into them), else the
StepAction's defaults (a default may use other params: `$(params.a) world`). A param given a
step result (`$(steps.s.results.r)`) becomes that reference, resolved when the step starts. The
StepAction's image, command, args, script, env, workingDir, volumeMounts, securityContext and
results then replace the step's; its name, onError, timeout, workspaces and output streams stay.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from interlock.run import feature_flags, params as params_mod
from interlock.run.errors import InvalidRun
from interlock.run.options import RunOptions
from interlock.run.resolve import resolve_ref
from interlock.run.variables import InvalidReference, references, substitute

FROM_STEPACTION = ("image", "command", "args", "script", "env", "workingDir", "volumeMounts",
                   "securityContext", "results")
_STEP_RESULT = re.compile(r"^\$\((steps\.[^.\[\]()]+\.results\.[^.\[\]()]+)(?:\[\*\])?\)$")


def expand(steps: list, options: RunOptions, task_variables: Mapping[str, Any],
           where: str) -> list:
    """The steps with every `ref` resolved; InvalidRun (exit 2) naming the step otherwise."""
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or "ref" not in step:
            out.append(step)
            continue
        here = f"{where}[{i}]"
        feature_flags.require(options.feature_flags, "enable-step-actions", "true",
                              "a step `ref` (StepActions)", f"{here}.ref")
        for field_name in FROM_STEPACTION:
            if field_name in step:
                raise InvalidRun(f"{here}.{field_name}", f"{field_name} cannot be used with ref "
                                 "(the StepAction provides it)")
        action = resolve_ref(step["ref"], "StepAction", options, f"{here}.ref")
        source = f"{action.source}: spec" if action.source != "embedded" else f"{here}.ref"
        _validate(action.spec, source)
        values = _values(step.get("params"), action.spec.get("params"), task_variables, here, source)
        fields = {k: copy.deepcopy(action.spec[k]) for k in FROM_STEPACTION if k in action.spec}
        fields = _step_result_params(fields, step.get("params"))
        fields = substitute(fields, params_mod.variables(values), strict=("params",))
        new = {k: v for k, v in step.items() if k not in ("ref", "params")}
        new.update(fields)
        out.append(new)
    return out


def _validate(spec: dict, where: str) -> None:
    """What Tekton's webhook checks on a StepAction (v1beta1 stepaction_validation.go)."""
    if not spec.get("image"):
        raise InvalidRun(f"{where}.image", "a StepAction needs an image")
    if spec.get("script") and spec.get("command"):
        raise InvalidRun(f"{where}.script", "script cannot be used with command")
    if any(r.startswith("params.") for r in references(spec.get("script") or "")):
        raise InvalidRun(f"{where}.script", "param substitution in scripts is not allowed (pass "
                                            "params through env or args)")
    declared = {str(p.get("name")) for p in spec.get("params") or [] if isinstance(p, dict)}
    used = {k: spec.get(k) for k in ("image", "command", "args", "env", "volumeMounts", "workingDir")}
    for ref in sorted(references(used)):
        name = ref.split(".", 2)[1].split("[", 1)[0] if ref.startswith("params.") else None
        if name is not None and name not in declared:
            raise InvalidRun(where, f"$({ref}) is not a param of the StepAction "
                                    f"(declared: {', '.join(sorted(declared)) or 'none'})")


def _values(given: object, declared: object, task_variables: Mapping[str, Any], here: str,
            source: str) -> dict[str, Any]:
    """The StepAction's param values, in Tekton's order (see the module docstring)."""
    provided = params_mod.given(given, f"{here}.params")
    provided = {k: _task_level(v, task_variables) for k, v in provided.items()}
    out: dict[str, Any] = {}
    pending: dict[str, str] = {}
    for i, decl in enumerate(declared or []):
        if not isinstance(decl, dict) or not decl.get("name"):
            raise InvalidRun(f"{source}.params[{i}]", "a param declaration needs a `name`")
        name, ptype = str(decl["name"]), params_mod.declared_type(decl)
        default = decl.get("default")
        if name in provided:
            value = provided[name]
            if isinstance(value, str) and _STEP_RESULT.match(value.strip()):
                out[name] = value  # replaced by _step_result_params
                continue
            if isinstance(value, str) and ptype != "string":
                # an unresolved reference: Tekton keeps the declared default's keys/items
                value = default if default is not None else value
            out[name] = params_mod.coerce(value, ptype, f"{here}.params: param {name!r}")
            if ptype == "object" and isinstance(default, dict):
                out[name] = {**params_mod.coerce(default, "object", source), **out[name]}
        elif isinstance(default, str) and "$(params." in default:
            pending[name] = default
        elif default is not None:
            out[name] = params_mod.coerce(default, ptype, f"{source}.params[{i}].default")
        else:
            raise InvalidRun(f"{here}.params", f"the StepAction requires param {name!r} "
                                               f"(declared at {source}.params[{i}], no default)")
    while pending:  # defaults that use other params, resolved once those are known
        ready = {n: d for n, d in pending.items()
                 if all(r.split(".", 1)[1] in out for r in references(d) if r.startswith("params."))}
        if not ready:
            raise InvalidRun(f"{source}.params", f"default(s) of {', '.join(sorted(pending))} "
                             "refer to unknown params or to each other in a cycle")
        for name, d in ready.items():
            out[name] = substitute(d, params_mod.variables(out), strict=())
            del pending[name]
    return out


def _task_level(value: Any, task_variables: Mapping[str, Any]) -> Any:
    """The Task's params in a step param value; a reference that does not fit (`[*]` of a
    string) is left as written, as Tekton's ReplaceVariables leaves it."""
    try:
        return substitute(value, task_variables, strict=())
    except InvalidReference:
        return value


def _step_result_params(fields: dict, given: object) -> dict:
    """`$(params.p…)` of a param given a step result becomes that result's reference, resolved
    at run time (apply.go replacementsFromStepResults): `.key`, `[i]` and `[*]` carry over."""
    for p in given or []:
        value = p.get("value") if isinstance(p, dict) else None
        m = _STEP_RESULT.match(value.strip()) if isinstance(value, str) else None
        if not m:
            continue
        name, target = re.escape(str(p["name"])), m.group(1)
        pattern = re.compile(r"\$\(params(?:\." + name + r"|\[\"" + name + r"\"\]|\['" + name
                             + r"'\])((?:\.[A-Za-z0-9_-]+|\[(?:\*|\d+)\])?)\)")
        fields = _replace_strings(fields, lambda s: pattern.sub(
            lambda mm: f"$({target}{mm.group(1)})", s))
    return fields


def _replace_strings(value: Any, fn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_replace_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _replace_strings(v, fn) for k, v in value.items()}
    return value
