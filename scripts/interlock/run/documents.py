"""A run file as `kubectl apply -f` reads it: every YAML document, in order.

- TaskRuns and PipelineRuns are the runs, run one after the other;
- Tasks, Pipelines and StepActions are what their refs resolve to first (then `--task`,
  `--pipeline`, `--stepaction`, then the catalog);
- Secrets (`data` base64, `stringData`) and ConfigMaps (`data`, `binaryData`) are stand-ins,
  like `--secret`/`--configmap` (a flag of the same name wins);
- PersistentVolumeClaims, ServiceAccounts, Namespaces, LimitRanges, ResourceQuotas and RBAC
  objects change nothing locally: each is noted and skipped (a claim's workspace is a folder of
  the run; nothing checks permissions or quotas);
- anything else is refused (exit 2) naming its kind.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path

from interlock.lint import yaml_loader
from interlock.run import kubernetes_rules as rules, structure, v1beta1
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import Resources

RUN_KINDS = ("TaskRun", "PipelineRun")
TEKTON = {"Task": "tasks", "Pipeline": "pipelines", "StepAction": "stepactions"}
STEPACTION_VERSIONS = ("tekton.dev/v1beta1", "tekton.dev/v1alpha1")
NO_OPS = {("v1", "PersistentVolumeClaim"), ("v1", "ServiceAccount"), ("v1", "Namespace"),
          ("v1", "LimitRange"), ("v1", "ResourceQuota"),
          *(("rbac.authorization.k8s.io/v1", k)
            for k in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"))}


@dataclass
class RunFile:
    path: Path
    runs: list[tuple[dict, str]] = field(default_factory=list)  # (run, how messages name it)
    resources: Resources = field(default_factory=Resources)
    notes: list[str] = field(default_factory=list)


def _where(path: Path, doc: yaml_loader.Document, total: int) -> str:
    return f"{path} (line {doc.start_line})" if total > 1 else str(path)


def _decoded(doc: dict, where: str) -> dict[str, bytes]:
    """A Secret's or ConfigMap's keys: data (base64 for a Secret) and binaryData, then
    stringData over them, as the API server merges them."""
    out: dict[str, bytes] = {}
    secret = doc["kind"] == "Secret"
    for field_name, b64 in (("data", secret), ("binaryData", True), ("stringData", False)):
        values = doc.get(field_name) or {}
        if not isinstance(values, dict):
            raise InvalidRun(f"{where}: {field_name}", "must be a mapping of key -> value")
        for k, v in values.items():
            k = rules.config_key(k, f"{where}: {field_name}")
            if not isinstance(v, str):
                raise InvalidRun(f"{where}: {field_name}.{k}", "must be a string")
            if b64:
                try:
                    out[k] = base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    raise InvalidRun(f"{where}: {field_name}.{k}", "is not valid base64") from None
            else:
                out[k] = v.encode("utf-8")
    return out


def load(path: Path) -> RunFile:
    """Every document of the run file, checked; InvalidRun (exit 2) for anything it cannot run."""
    path = Path(path)
    docs, problem = yaml_loader.load_all(path)
    if problem is None and not docs:
        problem = yaml_loader.LoadProblem("yaml-syntax", 1, "empty file: no YAML document", "")
    if problem is not None:
        raise InvalidRun(str(path), f"{problem.message} (line {problem.line})")
    out = RunFile(path, resources=Resources(source=str(path)))
    for doc in docs:
        where = _where(path, doc, len(docs))
        data = doc.data
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise InvalidRun(where, "not a Kubernetes resource (a mapping with apiVersion and kind)")
        kind, api = data["kind"], data.get("apiVersion")
        name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
        if kind in RUN_KINDS:
            out.runs.append((structure.check(doc, RUN_KINDS, where), where))
        elif kind in TEKTON and api in (structure.API_VERSION, v1beta1.API) or kind == "StepAction":
            checked = structure.check(doc, (kind,), where, STEPACTION_VERSIONS if kind == "StepAction"
                                      else (structure.API_VERSION,))
            if not name:
                raise InvalidRun(f"{where}: metadata.name", f"a {kind} referred to by name needs one")
            table = getattr(out.resources, TEKTON[kind])
            if name in table:
                raise InvalidRun(f"{where}: metadata.name", f"{kind} {name!r} is defined twice")
            table[str(name)] = checked
        elif api == "v1" and kind in ("Secret", "ConfigMap"):
            if not name:
                raise InvalidRun(f"{where}: metadata.name", f"a {kind} needs a name")
            table = out.resources.secrets if kind == "Secret" else out.resources.configmaps
            table[str(name)] = _decoded(data, where)
        elif (api, kind) in NO_OPS:
            out.notes.append(f"{where}: {kind} {name or ''} has no effect locally (skipped)")
        elif isinstance(api, str) and api.startswith("tekton.dev/"):
            raise Unsupported(f"{where}: apiVersion", f"{api} {kind} (convert it to tekton.dev/v1)")
        else:
            raise Unsupported(where, f"{kind} ({api}) documents")
    if not out.runs:
        raise InvalidRun(str(path), "no TaskRun or PipelineRun in the file (with a Task or "
                                    "Pipeline alone, write a run for it)")
    return out
