"""The catalog on disk: every Task and Pipeline version, found by the layout
`tasks/<name>/<version>/<name>.yaml` and `pipelines/<name>/<version>/<name>.yaml`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interlock import paths

KIND_FOLDERS = {"Task": "tasks", "Pipeline": "pipelines"}
_VERSION = re.compile(r"^\d+\.\d+$")


class CatalogError(ValueError):
    """A catalog file that cannot be read; the message names the file."""


def load_yaml(path: Path) -> dict:
    """One YAML document as a dict, or CatalogError naming the file and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CatalogError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise CatalogError(f"{path}: cannot read ({e.strerror})") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise CatalogError(f"{path}: invalid YAML: {e}".replace("\n", " ")) from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise CatalogError(f"{path}: expected exactly one YAML mapping, found {len(docs)} document(s)")
    return docs[0]


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


def _version_key(v: str) -> tuple[int, ...]:
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
    return sorted(found, key=lambda r: (r.kind, r.name, _version_key(r.version)))


def find(kind: str, name: str, version: str | None = None, root: Path | None = None) -> Resource | None:
    """A named Task/Pipeline: the given version, or the highest one."""
    matches = [r for r in resources(root) if r.kind == kind and r.name == name
               and (version is None or r.version == version)]
    return matches[-1] if matches else None
