"""The catalog on disk: every Task and Pipeline version, found by the layout
`tasks/<name>/<version>/<name>.yaml` and `pipelines/<name>/<version>/<name>.yaml`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from interlock import paths
from interlock.lint import yaml_loader

KIND_FOLDERS = {"Task": "tasks", "Pipeline": "pipelines"}
_VERSION = re.compile(r"^\d+\.\d+$")


class CatalogError(ValueError):
    """A catalog file that cannot be read; the message names the file."""


def load_yaml(path: Path) -> dict:
    """One YAML document as a dict, or CatalogError naming the file and the problem. Read by
    the one loader of every command (interlock.lint.yaml_loader: size, depth, alias caps)."""
    doc, problem = yaml_loader.load(Path(path))
    if problem is not None:
        raise CatalogError(f"{path}: {problem.message} (line {problem.line})")
    assert doc is not None
    if not isinstance(doc.data, dict):
        raise CatalogError(f"{path}: expected a YAML mapping, found {type(doc.data).__name__}")
    return doc.data


def mappings(value: object) -> list[dict]:
    """The mappings in a list (`spec.params`, `results`, …), skipping anything else: a broken
    entry is lint's to report (rule `schema`); documenting and indexing go on without it."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass
class Resource:
    """One version of a Task or Pipeline in the catalog."""

    kind: str  # "Task" or "Pipeline", from the folder it lives in
    name: str
    version: str
    folder: Path
    _doc: dict | None = field(default=None, repr=False)
    root: Path | None = None  # the catalog it belongs to (default: this process's catalog)

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}.yaml"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def relpath(self) -> str:
        root = self.root or paths.ROOT
        return self.path.relative_to(root).as_posix() if self.path.is_relative_to(root) else self.path.as_posix()

    @property
    def doc(self) -> dict:
        if self._doc is None:
            self._doc = load_yaml(self.path)
        return self._doc


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")) if _VERSION.match(v) else (-1,)


def resources(root: Path | None = None) -> list[Resource]:
    """Every Task and Pipeline version under root (default: this process's catalog), sorted."""
    root = Path(root or paths.ROOT)
    found = []
    for kind, folder in KIND_FOLDERS.items():
        for version_dir in sorted((root / folder).glob("*/*/")):
            name, version = version_dir.parent.name, version_dir.name
            if (version_dir / f"{name}.yaml").exists():
                found.append(Resource(kind, name, version, version_dir, root=root))
    return sorted(found, key=lambda r: (r.kind, r.name, version_key(r.version)))


def find(kind: str, name: str, version: str | None = None, root: Path | None = None) -> Resource | None:
    """A named Task/Pipeline: the given version, or the highest one."""
    matches = [r for r in resources(root) if r.kind == kind and r.name == name
               and (version is None or r.version == version)]
    return matches[-1] if matches else None


def referenced(ref: object, root: Path | None = None) -> Resource | None:
    """The catalog Task a `taskRef` names, as `interlock run` answers it from the catalog: by name
    (no resolver, or the cluster/bundles resolvers' `name` param) the highest version; the hub
    resolver's `name` and `version`; the git resolver's `pathInRepo`. None when the ref names
    nothing in this catalog (another resolver, a custom task, a Task that is not here)."""
    ref = mapping(ref)
    if ref.get("apiVersion") or ref.get("kind", "Task") != "Task":
        return None
    resolver = ref.get("resolver")
    if resolver is None:
        return find("Task", ref["name"], root=root) if isinstance(ref.get("name"), str) else None
    params = {p.get("name"): p.get("value") for p in mappings(ref.get("params"))}
    if resolver in ("cluster", "bundles", "hub") and isinstance(params.get("name"), str):
        version = params.get("version") if resolver == "hub" else None
        return find("Task", params["name"], str(version) if version is not None else None, root)
    if resolver == "git" and isinstance(params.get("pathInRepo"), str):
        parts = Path(params["pathInRepo"]).parts
        if len(parts) == 4 and parts[0] == KIND_FOLDERS["Task"] and parts[3] == f"{parts[1]}.yaml":
            return find("Task", parts[1], parts[2], root)
    return None
