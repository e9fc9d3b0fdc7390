"""Which files to lint, what each one is, and every check that runs on it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from interlock import catalog, docs, schemas
from interlock.lint import artifacthub, rules, schema, yamllint_run
from interlock.lint.findings import Finding
from interlock.lint.rules import Hit, Place
from interlock.lint.yaml_loader import Document, LoadProblem, format_path, load, load_all
from interlock.settings import settings

Role = Literal["resource", "example", "loose"]
KIND_FOLDERS = {"tasks": "Task", "pipelines": "Pipeline", "stepactions": "StepAction"}
EXAMPLE_FOLDERS = ("samples", "tests")
ANNOTATIONS = ("tekton.dev/pipelines.minVersion", "tekton.dev/categories", "tekton.dev/tags",
               "tekton.dev/displayName", "tekton.dev/platforms")
VERSION_FOLDER = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True)
class Target:
    path: Path
    role: Role
    place: Place | None = None


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


def discover(root: Path) -> list[Target]:
    """Every catalog resource file and every YAML under its samples/ and tests/ folders."""
    found: list[Target] = []
    for folder in KIND_FOLDERS:
        for version_dir in sorted(p for p in (root / folder).glob("*/*") if p.is_dir()):
            found += [classify(f, root) for f in _yaml_files(version_dir)]
            for sub in EXAMPLE_FOLDERS:
                found += [Target(f, "example") for f in sorted((version_dir / sub).rglob("*"))
                          if f.is_file() and f.suffix in (".yaml", ".yml")]
    return found


def targets(files: list[Path], root: Path) -> list[Target]:
    """The files to lint: those given (folders searched for YAML), or the whole catalog."""
    if not files:
        return discover(root)
    out: list[Target] = []
    for f in files:
        found = sorted(p for p in f.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")) \
            if f.is_dir() else [f]
        out += [classify(p, root) for p in found]
    return out


def classify(path: Path, root: Path) -> Target:
    """A file given by path: a catalog resource, a sample/test, or a loose file."""
    try:
        parts = path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return Target(path, "loose")
    if len(parts) == 4 and parts[0] in KIND_FOLDERS:
        return Target(path, "resource", Place(parts[0], parts[1], parts[2], path))
    if len(parts) > 4 and parts[0] in KIND_FOLDERS and parts[3] in EXAMPLE_FOLDERS:
        return Target(path, "example")
    return Target(path, "loose")


def display(path: Path, root: Path) -> str:
    for base in (root, Path.cwd()):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


class FileLinter:
    """All checks of one file; collects Findings."""

    def __init__(self, target: Target, root: Path, yamllint_config: Path | None):
        self.target, self.root = target, root
        self.name = display(target.path, root)
        self.yamllint_config = yamllint_config
        self.findings: list[Finding] = []
        self.doc: Document | None = None

    def add(self, line: int, path: str, rule: str, message: str, hint: str, severity: str = "error",
            file: str | None = None) -> None:
        self.findings.append(Finding(file or self.name, line, path, rule, severity, message, hint))

    def add_hits(self, hits: Iterable[Hit]) -> None:
        assert self.doc is not None
        for h in hits:
            line = self.doc.line(h.key) if h.offset is None else self.doc.line_in(h.key, h.offset)
            self.add(line, format_path(h.key), h.rule, h.message, h.hint, h.severity)

    def run(self) -> list[Finding]:
        # a catalog file holds exactly one resource; a sample or test may be a run file of
        # several documents (`kubectl apply -f`), each linted on its own
        if self.target.role == "resource":
            doc, problem = load(self.target.path)
            docs = [doc] if doc is not None else []
        else:
            docs, problem = load_all(self.target.path)
        if problem is None and not docs:
            problem = LoadProblem("yaml-syntax", 1, "empty file: no YAML document",
                                  "write one Tekton resource, or delete the file")
        if problem is not None:
            self.add(problem.line, "", problem.rule, problem.message, problem.hint)
            return self.findings
        for p in yamllint_run.problems(docs[0].text, self.target.path, self.yamllint_config):
            self.add(p.line, "", "yaml-lint", p.message, p.hint, p.severity)
        for doc in docs:
            self.doc = doc
            self._document()
        return self.findings

    def _document(self) -> None:
        assert self.doc is not None
        kind = self._kind()
        if kind is None:
            return
        api_version, kind_name = kind
        self.add_hits(Hit(key, rule, msg, hint) for key, rule, msg, hint in schema.findings(self.doc, api_version, kind_name))
        self._semantics(kind_name)
        if self.target.role == "resource":
            self._catalog_rules(kind_name)

    def _kind(self) -> tuple[str, str] | None:
        """(apiVersion, kind) when the project has a schema for it; a finding when it should."""
        assert self.doc is not None
        data = self.doc.data
        if not isinstance(data, dict):
            self.add(1, "", "unknown-kind", f"the document is a {type(data).__name__}, not a Kubernetes resource",
                     "write a mapping with apiVersion, kind, metadata and spec")
            return None
        api_version, kind = data.get("apiVersion"), data.get("kind")
        if isinstance(api_version, str) and isinstance(kind, str) and (api_version, kind) in schemas.FILES:
            place = self.target.place
            if place and kind != KIND_FOLDERS[place.kind_folder]:
                home = next((f for f, k in KIND_FOLDERS.items() if k == kind), None)
                self.add(self.doc.line(("kind",)), "kind", "unknown-kind",
                         f"{kind} in {place.kind_folder}/, which holds {KIND_FOLDERS[place.kind_folder]}s",
                         f"move it to {home}/" if home else "keep only catalog kinds in this folder")
                return None
            return api_version, kind
        tekton = isinstance(api_version, str) and api_version.split("/")[0].endswith("tekton.dev")
        if self.target.role != "resource" and isinstance(api_version, str) and isinstance(kind, str) and not tekton:
            return None  # a Secret, ConfigMap, … beside a sample: allowed, not checked here
        known = ", ".join(f"{a} {k}" for a, k in schemas.FILES)
        self.add(self.doc.line(("kind",)), "kind", "unknown-kind",
                 f"apiVersion {api_version!r} kind {kind!r} is not a kind the catalog lints",
                 f"use one of: {known}")
        return None

    def _semantics(self, kind: str) -> None:
        assert self.doc is not None
        data = self.doc.data
        spec = data.get("spec")
        if not isinstance(spec, dict):
            return
        at = ("spec",)
        if kind == "Task":
            self.add_hits(rules.task_spec(spec, at))
        elif kind == "Pipeline":
            self.add_hits(rules.pipeline_spec(spec, at, self._task_spec))
        elif kind == "StepAction":
            self.add_hits(rules.step_action(spec, at))
        if kind in ("Task", "Pipeline", "StepAction"):
            self.add_hits(rules.secret_params(spec, at))
            specs = [(at, spec)] if kind != "Pipeline" else [
                (at + (s, i, "taskSpec"), t["taskSpec"]) for s in ("tasks", "finally")
                for i, t in enumerate(rules.as_list(spec.get(s)))
                if isinstance(t, dict) and isinstance(t.get("taskSpec"), dict)]
            for key, task in specs:
                self.add_hits(rules.image_pins(task, key, kind == "StepAction"))
                self.add_hits(rules.security(task, key, kind == "StepAction"))

    def _task_spec(self, task: dict) -> dict | None:
        """The Task spec a pipeline task runs: its taskSpec, or the catalog Task its taskRef names."""
        if isinstance(task.get("taskSpec"), dict):
            return task["taskSpec"]
        found = catalog.referenced(task.get("taskRef"), root=self.root)
        try:
            spec = found.doc.get("spec") if found else None
        except catalog.CatalogError:
            return None  # that Task's own lint reports why
        return spec if isinstance(spec, dict) else None

    def _catalog_rules(self, kind: str) -> None:
        assert self.doc is not None and self.target.place is not None
        place, data, line = self.target.place, self.doc.data, self.doc.line
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        name = meta.get("name")
        if name != place.name:
            self.add(line(("metadata", "name")), "metadata.name", "name-mismatch",
                     f"metadata.name {name!r} differs from its folder {place.kind_folder}/{place.name}/",
                     f"name = folder = file name: set metadata.name: {place.name}")
        if place.file.stem != place.name:
            self.add(1, "", "name-mismatch", f"file {place.file.name} in folder {place.name}/ should be "
                     f"{place.name}.yaml", f"rename it to {place.name}.yaml")
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        label = labels.get("app.kubernetes.io/version")
        key = ("metadata", "labels", "app.kubernetes.io/version")
        if not VERSION_FOLDER.match(place.version):
            self.add(1, "", "version-mismatch", f"version folder {place.version!r} is not <major>.<minor>",
                     "name the folder like 0.1")
        if str(label) != place.version:
            self.add(line(key), format_path(key), "version-mismatch",
                     f"label app.kubernetes.io/version is {label!r}, the version folder is {place.version!r}",
                     f'set app.kubernetes.io/version: "{place.version}"')
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        for ann in ANNOTATIONS:
            if not str(annotations.get(ann) or "").strip():
                key = ("metadata", "annotations", ann)
                self.add(line(key), format_path(key), "missing-annotation", f"annotation {ann} is missing",
                         "add it under metadata.annotations (tektoncd/catalog convention)")
        self.add_hits(artifacthub.annotation_hits(annotations, ("metadata", "annotations"), settings()["license"]))
        if kind in ("Task", "Pipeline"):
            problem = artifacthub.changelog_problem(place.file.parents[1] / "CHANGELOG.md", place.version, annotations)
            if problem:
                key = ("metadata", "annotations", artifacthub.PREFIX + "changes")
                self.add(line(key), format_path(key), "changelog", problem,
                         f"list this version's changes under `## {place.version}` in "
                         f"{place.kind_folder}/{place.name}/CHANGELOG.md as `- Added: …`, the same as the annotation")
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        if not str(spec.get("description") or "").strip():
            self.add(line(("spec", "description")), "spec.description", "missing-description",
                     f"{kind} has no spec.description", "describe what it does in one paragraph")
        if kind in ("Task", "Pipeline"):
            self._readme(data)

    def _readme(self, data: dict) -> None:
        assert self.target.place is not None
        readme = self.target.place.file.parent / "README.md"
        if not readme.is_file():
            self.add(1, "", "readme-missing", f"no README.md beside {self.target.place.file.name}",
                     "write one, then run `interlock docs` to add the params/results tables")
            return
        text = readme.read_text(encoding="utf-8", errors="replace")
        block = docs.extract(text)
        if block is None:
            self.add(1, "", "readme-out-of-sync", "README.md has no generated reference block",
                     "run `interlock docs`", file=display(readme, self.root))
        elif block != docs.render(data, self.root):
            marker = text[: text.find(docs.BEGIN)].count("\n") + 1
            self.add(marker, "", "readme-out-of-sync",
                     "README.md params/results/workspaces tables differ from the YAML",
                     "run `interlock docs`", file=display(readme, self.root))


def repository_findings(targets: list[Target], root: Path) -> list[Finding]:
    """artifacthub-repo.yml of every kind folder (tasks/, pipelines/, stepactions/) linted here."""
    folders = sorted({t.place.kind_folder for t in targets if t.place is not None})
    found = []
    for folder in folders:
        path = root / folder / "artifacthub-repo.yml"
        for problem in artifacthub.repo_metadata_problems(path):
            found.append(Finding(display(path, root), 1, "", "artifacthub-repo", "error", problem,
                                 "see Artifact Hub's repositories guide; owners: [{name, email}]"))
    return found


def lint(targets: list[Target], root: Path, yamllint_config: Path | None) -> tuple[list[Finding], dict[str, Document]]:
    """Findings of every target, and the documents that parsed (by printed file name)."""
    found: list[Finding] = repository_findings(targets, root)
    parsed: dict[str, Document] = {}
    for target in targets:
        linter = FileLinter(target, root, yamllint_config)
        found += linter.run()
        if linter.doc is not None:
            parsed[linter.name] = linter.doc
    return found, parsed
