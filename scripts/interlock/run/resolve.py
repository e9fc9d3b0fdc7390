"""Find the Task, Pipeline or StepAction a run refers to: embedded spec, a document of the run
file itself, `--task/--pipeline/--stepaction FILE`, or a ref resolved from this catalog's tasks/,
pipelines/ and stepactions/ folders.

A ref by name (no resolver, or `resolver: cluster`) looks in the run file first, as resources
that `kubectl apply -f` created together; then the `--task`/`--pipeline`/`--stepaction` file;
then the catalog. Resolvers understood (all answered locally, nothing is fetched):
- `name: x` and `resolver: cluster` (param `name`): highest catalog version of x;
- `resolver: hub` (params `name`, `version`, `kind`): that version of x;
- `resolver: git` (param `pathInRepo`): that file of this repository;
- `resolver: bundles` (param `name`): highest version of x (the bundle itself is not pulled).
Any other resolver and custom tasks (`apiVersion` on the ref) are refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from interlock import catalog, paths
from interlock.run import structure
from interlock.run.errors import InvalidRun, Unsupported
from interlock.run.options import RunOptions

# kind -> (catalog folder, same-file table of Resources, option with a file for any ref)
KINDS = {"Task": ("tasks", "tasks", "task_file"),
         "Pipeline": ("pipelines", "pipelines", "pipeline_file"),
         "StepAction": ("stepactions", "stepactions", "stepaction_file")}
API_VERSIONS = {"StepAction": ("tekton.dev/v1beta1", "tekton.dev/v1alpha1")}


@dataclass
class Resolved:
    name: str          # the Task/Pipeline/StepAction name (context.task.name)
    spec: dict         # its spec
    source: str        # where it came from, for messages: a file path or "embedded"


def load_run(path: Path) -> dict:
    """The one TaskRun/PipelineRun of a file, or InvalidRun naming the file."""
    return structure.load(Path(path), ("TaskRun", "PipelineRun"), str(path))


def _ref_params(ref: dict, where: str) -> dict[str, str]:
    out = {}
    for i, p in enumerate(ref.get("params") or []):
        if not isinstance(p, dict) or "name" not in p:
            raise InvalidRun(f"{where}.params[{i}]", "each resolver param needs `name` and `value`")
        out[str(p["name"])] = str(p.get("value", ""))
    return out


def _catalog_stepaction(name: str, version: str | None) -> Path | None:
    found = [d for d in sorted((paths.ROOT / "stepactions" / name).glob("*/"))
             if (d / f"{name}.yaml").is_file() and (version is None or d.name == version)]
    found.sort(key=lambda d: catalog.version_key(d.name))
    return found[-1] / f"{name}.yaml" if found else None


def _from_catalog(kind: str, name: str, version: str | None, where: str) -> Path:
    if kind == "StepAction":
        path = _catalog_stepaction(name, version)
    else:
        found = catalog.find(kind, name, version)
        path = found.path if found else None
    if path is None:
        folder = KINDS[kind][0]
        raise InvalidRun(where, f"unknown {kind} {name!r}" + (f" version {version}" if version else "")
                         + f": not in the run file, and no {folder}/{name}/<version>/{name}.yaml "
                         f"in {paths.ROOT}")
    return path


def _same_file(kind: str, name: str | None, options: RunOptions) -> Resolved | None:
    doc = getattr(options.resources, KINDS[kind][1]).get(str(name)) if name else None
    if doc is None:
        return None
    return Resolved(str(name), doc["spec"], f"{options.resources.source} ({kind} {name})")


def _ref_path(ref: dict, kind: str, where: str) -> Path:
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
        try:
            path = (paths.ROOT / rel).resolve()
            found = path.is_relative_to(paths.ROOT.resolve()) and path.is_file()
        except (OSError, ValueError):  # a name too long, a NUL byte
            found = False
        if not found:
            raise InvalidRun(f"{where}.params", f"pathInRepo {rel[:200]!r} is not a file of this "
                                                "repository")
        return path
    raise Unsupported(f"{where}.resolver", f"resolver {resolver!r}")


def resolve_ref(ref: object, kind: str, options: RunOptions, where: str) -> Resolved:
    """What a taskRef/pipelineRef/step `ref` names: the run file, the option's file, the
    catalog or a resolver (see the module docstring)."""
    if not isinstance(ref, dict):
        raise InvalidRun(where, "must be a mapping")
    if ref.get("apiVersion"):
        raise Unsupported(f"{where}.apiVersion", "custom tasks (a ref with apiVersion)")
    if str(ref.get("kind", kind)).lower() != kind.lower():
        raise Unsupported(f"{where}.kind", f"kind {ref.get('kind')!r}")
    resolver = ref.get("resolver")
    by_name = ref.get("name") if resolver is None else \
        _ref_params(ref, where).get("name") if resolver == "cluster" else None
    found = _same_file(kind, by_name, options)
    if found is not None:
        return found
    given = getattr(options, KINDS[kind][2])
    path = Path(given) if given else _ref_path(ref, kind, where)
    doc = structure.load(path, kind, where) if kind not in API_VERSIONS else \
        _load_versioned(path, kind, where)
    return Resolved(str((doc.get("metadata") or {}).get("name") or path.stem), doc["spec"], str(path))


def _load_versioned(path: Path, kind: str, where: str) -> dict:
    from interlock.lint import yaml_loader
    docs, problem = yaml_loader.load_all(path)
    if problem is not None or not docs:
        raise InvalidRun(f"{where}: {path}", problem.message if problem else "empty file")
    found = [d for d in docs if isinstance(d.data, dict) and d.data.get("kind") == kind]
    if len(found) != 1:
        raise InvalidRun(f"{where}: {path}", f"expected exactly one {kind}")
    return structure.check(found[0], (kind,), str(path), API_VERSIONS[kind])


def resolve_task(taskrun: dict, options: RunOptions, where: str) -> Resolved:
    """The Task of a TaskRun; `where` names the TaskRun (file or pipelineTask) for messages."""
    spec = taskrun.get("spec") or {}
    if "taskSpec" in spec:
        if not isinstance(spec["taskSpec"], dict):
            raise InvalidRun(f"{where}: spec.taskSpec", "must be a mapping")
        # an embedded spec's `context.task.name` is the TaskRun's name
        # (pkg/reconciler/taskrun/resources/taskspec.go GetTaskData)
        name = (taskrun.get("metadata") or {}).get("name") or "embedded"
        return Resolved(str(name), spec["taskSpec"], "embedded")
    if "taskRef" not in spec:
        raise InvalidRun(f"{where}: spec", "needs taskSpec or taskRef")
    return resolve_ref(spec["taskRef"], "Task", options, f"{where}: spec.taskRef")


def resolve_pipeline(ref: dict, options: RunOptions, where: str = "spec.pipelineRef") -> dict:
    """The Pipeline document (apiVersion/kind/metadata/spec) a `pipelineRef` names."""
    found = resolve_ref(ref, "Pipeline", options, where)
    return {"apiVersion": structure.API_VERSION, "kind": "Pipeline",
            "metadata": {"name": found.name}, "spec": found.spec}


def resolve_pipeline_task(ptask: dict, options: RunOptions, where: str) -> Resolved:
    """The Task of a pipelineTask (taskSpec or taskRef); `--task FILE` applies when the run
    file does not hold the Task the ref names."""
    if "taskSpec" in ptask:
        spec = ptask["taskSpec"]
        if not isinstance(spec, dict):
            raise InvalidRun(f"{where}.taskSpec", "must be a mapping")
        return Resolved(str(ptask.get("name", "embedded")), spec, "embedded")
    if "taskRef" not in ptask:
        raise InvalidRun(where, "needs taskSpec or taskRef")
    return resolve_ref(ptask["taskRef"], "Task", options, f"{where}.taskRef")
