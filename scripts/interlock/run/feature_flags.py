"""Tekton's feature flags (the `feature-flags` ConfigMap), as `--feature-flags k=v,...`.

Defaults are Tekton v1.15's as far as they can be read here: tektoncd/pipeline
pkg/apis/config/feature_flags.go (NewFeatureFlagsFromMap and the Default* PerFeatureFlag values)
and config/config-feature-flags.yaml. Assumed where the source at that tag could not be read:
`enable-api-fields` is `beta` (the default since v0.59) and StepActions are on
(`enable-step-actions`, stable since v1.0; the flag is still honoured when set to false).
The flags of config-feature-flags.yaml are accepted and checked (any other key is an error, so
a typo is not silently ignored); those that change what a local run accepts or does are
enable-api-fields, enable-step-actions, enable-param-enum, enable-cel-in-whenexpression,
enable-artifacts and await-sidecar-readiness.
"""
from __future__ import annotations

import json
import re
from typing import Mapping

from interlock.run.errors import InvalidRun, Unsupported

API_LEVELS = ("stable", "beta", "alpha")
BOOL = ("true", "false")
# flag -> (default, allowed values; None: a positive integer)
FLAGS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "enable-api-fields": ("beta", API_LEVELS),
    "enable-step-actions": ("true", BOOL),
    "enable-param-enum": ("false", BOOL),
    "enable-cel-in-whenexpression": ("false", BOOL),
    "enable-artifacts": ("false", BOOL),
    "enable-concise-resolver-syntax": ("false", BOOL),
    "enable-kubernetes-sidecar": ("false", BOOL),
    "keep-pod-on-cancel": ("false", BOOL),
    "await-sidecar-readiness": ("true", BOOL),
    "running-in-environment-with-injected-sidecars": ("true", BOOL),
    "disable-creds-init": ("false", BOOL),
    "disable-affinity-assistant": ("false", BOOL),
    "coschedule": ("workspaces", ("workspaces", "pipelineruns", "isolate-pipelinerun", "disabled")),
    "results-from": ("termination-message", ("termination-message", "sidecar-logs")),
    "max-result-size": ("4096", None),
    "set-security-context": ("false", BOOL),
    "disable-inline-spec": ("", None),
    "send-cloudevents-for-runs": ("false", BOOL),
    "enable-provenance-in-status": ("true", BOOL),
    "require-git-ssh-secret-known-hosts": ("false", BOOL),
    "trusted-resources-verification-no-match-policy": ("ignore", ("ignore", "warn", "fail")),
    "enforce-nonfalsifiability": ("none", ("none", "spire")),
}


def parse(text: str | None) -> dict[str, str]:
    """`k=v,k2=v2` -> {k: v}; InvalidRun naming the flag for an unknown key or a bad value."""
    out: dict[str, str] = {}
    pairs: list[str] = []
    for piece in filter(None, (p.strip() for p in (text or "").split(","))):
        if "=" not in piece and pairs and pairs[-1].startswith("disable-inline-spec="):
            pairs[-1] += "," + piece  # its value is itself a list: disable-inline-spec=taskrun,pipeline
        else:
            pairs.append(piece)
    for pair in pairs:
        key, sep, val = pair.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or key not in FLAGS:
            raise InvalidRun("--feature-flags", f"{pair!r}: unknown flag (known: {', '.join(sorted(FLAGS))})"
                             if sep else f"{pair!r} is not flag=value")
        allowed = FLAGS[key][1]
        if key == "disable-inline-spec":
            bad = set(val.split(",")) - {"", "taskrun", "pipelinerun", "pipeline"}
        elif allowed is None:
            bad = set() if val.isdigit() and 0 < int(val) < 1572864 else {val}
        else:
            val = val.lower()
            bad = set() if val in allowed else {val}
        if bad:
            raise InvalidRun("--feature-flags", f"{key}={val!r} is not valid"
                             + (f" (one of {', '.join(allowed)})" if allowed else ""))
        out[key] = val
    return out


def value(flags: Mapping[str, str], name: str) -> str:
    return flags.get(name, FLAGS[name][0])


def require(flags: Mapping[str, str], name: str, wanted: str, what: str, where: str) -> None:
    """InvalidRun unless flag `name` allows `what` (Tekton's webhook rejects it otherwise)."""
    have = value(flags, name)
    ok = (API_LEVELS.index(have) >= API_LEVELS.index(wanted)) if name == "enable-api-fields" \
        else have == wanted
    if not ok:
        raise InvalidRun(where, f"{what} requires the feature flag {name}={wanted!r} (it is "
                                f"{have!r}; Tekton v1.15's default is {FLAGS[name][0]!r}): pass "
                                f"--feature-flags {name}={wanted}")


def _params_need(params: object, flags: Mapping[str, str], where: str) -> None:
    for i, p in enumerate(params or []):
        if not isinstance(p, dict):
            continue
        if "enum" in p:  # param_types.go: enum needs enable-param-enum
            require(flags, "enable-param-enum", "true", "a param `enum`", f"{where}[{i}].enum")
        if p.get("type") == "object" or (p.get("type") is None and "properties" in p):
            require(flags, "enable-api-fields", "beta", "an object param", f"{where}[{i}]")


# $(step.artifacts.path), $(task.artifacts.path), $(steps.<s>.inputs|outputs.<a>) and the
# tasks.<t> form (pkg/internal/artifactref)
ARTIFACT_REF = re.compile(r"\$\((?:(?:step|task)\.artifacts\.path"
                          r"|(?:steps|tasks)\.[^.)]+\.(?:inputs|outputs)\.)")
STEP_ARTIFACTS_PATH = "$(step.artifacts.path)"


def _artifacts_need(texts: list, flags: Mapping[str, str], where: str) -> None:
    """An artifact reference needs enable-artifacts (task_validation.go
    validateArtifactsReferencesInStep, pipeline_validation.go validateArtifactReference); with
    it, only $(step.artifacts.path) is substituted here: artifacts are not read back."""
    refs = [t for t in texts if isinstance(t, str) and ARTIFACT_REF.search(t)]
    if refs:
        require(flags, "enable-artifacts", "true", "an artifacts reference", where)
    if any(ARTIFACT_REF.search(t.replace(STEP_ARTIFACTS_PATH, "")) for t in refs):
        raise Unsupported(where, "artifact references other than $(step.artifacts.path)")


def _step_texts(step: Mapping) -> list:
    return [step.get("script"), *(step.get("command") or []), *(step.get("args") or []),
            *(e.get("value") for e in step.get("env") or [] if isinstance(e, dict))]


def check_task(spec: Mapping, flags: Mapping[str, str], where: str) -> None:
    """Refuse what the flags disable in a Task spec (task_validation.go ValidateBetaFields,
    validateStep, validateWorkspaceUsages)."""
    _params_need(spec.get("params"), flags, f"{where}.params")
    for i, s in enumerate(spec.get("steps") or []):
        if isinstance(s, dict):
            _artifacts_need(_step_texts(s), flags, f"{where}.steps[{i}]")
    for i, r in enumerate(spec.get("results") or []):
        if isinstance(r, dict) and r.get("type") in ("array", "object"):
            require(flags, "enable-api-fields", "beta", f"{r['type']} results",
                    f"{where}.results[{i}]")
    for kind in ("steps", "sidecars"):
        for i, c in enumerate(spec.get(kind) or []):
            if isinstance(c, dict) and c.get("workspaces"):
                require(flags, "enable-api-fields", "beta", f"{kind[:-1]} workspaces",
                        f"{where}.{kind}[{i}].workspaces")


def check_pipeline(spec: Mapping, flags: Mapping[str, str], where: str) -> None:
    """Refuse what the flags disable in a Pipeline spec (pipeline_validation.go)."""
    _params_need(spec.get("params"), flags, f"{where}.params")
    for section in ("tasks", "finally"):
        for i, t in enumerate(spec.get(section) or []):
            if not isinstance(t, dict):
                continue
            here = f"{where}.{section}[{i}]"
            _artifacts_need([json.dumps(p.get("value")) for p in t.get("params") or []
                             if isinstance(p, dict)], flags, f"{here}.params")
            if "matrix" in t:
                require(flags, "enable-api-fields", "beta", "matrix", f"{here}.matrix")
            if "onError" in t:
                require(flags, "enable-api-fields", "beta", "a pipeline task onError",
                        f"{here}.onError")
            for j, w in enumerate(t.get("when") or []):
                if isinstance(w, dict) and "cel" in w:
                    require(flags, "enable-cel-in-whenexpression", "true", "a CEL when expression",
                            f"{here}.when[{j}].cel")
