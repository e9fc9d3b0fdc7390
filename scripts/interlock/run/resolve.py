"""Find the Task or Pipeline a run refers to: embedded spec, `--task/--pipeline FILE`, or a
`taskRef`/`pipelineRef` resolved from this catalog's tasks/ and pipelines/ folders.

Resolvers understood (all answered from the local catalog, nothing is fetched):
- `taskRef: {name: x}` (kind Task) and `resolver: cluster` (param `name`): highest version of x;
- `resolver: hub` (params `name`, `version`, `kind`): that version of x;
- `resolver: git` (param `pathInRepo`): that file of this repository;
- `resolver: bundles` (param `name`): highest version of x (the bundle itself is not pulled).
Any other resolver, custom tasks (`apiVersion` on the ref) and StepActions are refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interlock import catalog, paths
from interlock.run import structure
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions

@dataclass
class Resolved:
    name: str          # the Task/Pipeline name (context.task.name)
    spec: dict         # its spec
    source: str        # where it came from, for messages: a file path or "embedded"


def load_run(path: Path) -> dict:
    """A TaskRun/PipelineRun file, or InvalidRun naming the file."""
    return structure.load(Path(path), ("TaskRun", "PipelineRun"), str(path))


def _ref_params(ref: dict, where: str) -> dict[str, str]:
    out = {}
    for i, p in enumerate(ref.get("params") or []):
        if not isinstance(p, dict) or "name" not in p:
            raise InvalidRun(f"{where}.params[{i}]", "each resolver param needs `name` and `value`")
        out[str(p["name"])] = str(p.get("value", ""))
    return out


def _from_catalog(kind: str, name: str, version: str | None, where: str) -> Path:
    found = catalog.find(kind, name, version)
    if found is None:
        folder = catalog.KIND_FOLDERS[kind]
        known = sorted({r.name for r in catalog.resources() if r.kind == kind})
        raise InvalidRun(where, f"unknown {kind} {name!r}" + (f" version {version}" if version else "")
                         + f": no {folder}/{name}/<version>/{name}.yaml in {paths.ROOT}"
                         + (f" (known: {', '.join(known)})" if known else ""))
    return found.path


def _ref_path(ref: object, kind: str, where: str) -> Path:
    if not isinstance(ref, dict):
        raise InvalidRun(where, "must be a mapping")
    if ref.get("apiVersion"):
        raise Unsupported(f"{where}.apiVersion", "custom tasks (a ref with apiVersion)")
    if ref.get("kind", kind) != kind:
        raise Unsupported(f"{where}.kind", f"kind {ref.get('kind')!r}")
    resolver = ref.get("resolver")
    if resolver is None:
        if not ref.get("name"):
            raise InvalidRun(where, "needs `name` or `resolver`")
        return _from_catalog(kind, str(ref["name"]), None, f"{where}.name")
    params = _ref_params(ref, where)
    if resolver in ("cluster", "bundles", "hub"):
        if "name" not in params:
            raise InvalidRun(f"{where}.params", f"resolver {resolver} needs a `name` param")
        version = params.get("version") if resolver == "hub" else None
        return _from_catalog(kind, params["name"], version, f"{where}.params")
    if resolver == "git":
        rel = params.get("pathInRepo")
        if not rel:
            raise InvalidRun(f"{where}.params", "resolver git needs a `pathInRepo` param")
        path = (paths.ROOT / rel).resolve()
        if not path.is_relative_to(paths.ROOT.resolve()) or not path.is_file():
            raise InvalidRun(f"{where}.params", f"pathInRepo {rel!r} is not a file of this repository")
        return path
    raise Unsupported(f"{where}.resolver", f"resolver {resolver!r}")


def resolve_task(taskrun: dict, options: RunOptions, where: str) -> Resolved:
    """The Task of a TaskRun; `where` names the TaskRun (file or pipelineTask) for messages."""
    spec = taskrun.get("spec") or {}
    if "taskSpec" in spec:
        if not isinstance(spec["taskSpec"], dict):
            raise InvalidRun(f"{where}: spec.taskSpec", "must be a mapping")
        name = (taskrun.get("metadata") or {}).get("name") or "embedded"
        return Resolved(str(name), spec["taskSpec"], "embedded")
    if "taskRef" not in spec:
        raise InvalidRun(f"{where}: spec", "needs taskSpec or taskRef")
    if options.task_file:
        path = Path(options.task_file)
    else:
        path = _ref_path(spec["taskRef"], "Task", f"{where}: spec.taskRef")
    doc = structure.load(path, "Task", f"{where}: spec.taskRef")
    return Resolved(str((doc.get("metadata") or {}).get("name") or path.stem), doc["spec"], str(path))


def resolve_pipeline(ref: dict, options: RunOptions, where: str = "spec.pipelineRef") -> dict:
    """The Pipeline document (apiVersion/kind/metadata/spec) a `pipelineRef` names, or the
    `--pipeline FILE`; raises InvalidRun naming `where`."""
    path = Path(options.pipeline_file) if options.pipeline_file else _ref_path(ref, "Pipeline", where)
    return structure.load(path, "Pipeline", where)


def resolve_pipeline_task(ptask: dict, options: RunOptions, where: str) -> Resolved:
    """The Task of a pipelineTask (taskSpec or taskRef); `--task FILE` does not apply here."""
    if "taskSpec" in ptask:
        spec = ptask["taskSpec"]
        if not isinstance(spec, dict):
            raise InvalidRun(f"{where}.taskSpec", "must be a mapping")
        return Resolved(str(ptask.get("name", "embedded")), spec, "embedded")
    if "taskRef" not in ptask:
        raise InvalidRun(where, "needs taskSpec or taskRef")
    path = _ref_path(ptask["taskRef"], "Task", f"{where}.taskRef")
    doc = structure.load(path, "Task", f"{where}.taskRef")
    return Resolved(str((doc.get("metadata") or {}).get("name") or path.stem), doc["spec"], str(path))
