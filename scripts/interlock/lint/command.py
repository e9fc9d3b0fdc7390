"""`interlock lint`: the click command (discovery, output, exit code)."""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from interlock import catalog, paths, root_option
from interlock.lint import engine, findings, rules, tekton_lint
from interlock.lint.findings import Finding
from interlock.lint.yaml_loader import Document, format_path

YAMLLINT_DEFAULT = Path(__file__).resolve().parent / "yamllint.yaml"


def _locate(finding: Finding, parsed: dict[str, Document]) -> Finding:
    """Give a tekton-lint finding without a document path the path of the node on its line."""
    doc = parsed.get(finding.file)
    key = doc.key_at(finding.line) if doc and not finding.path else None
    return dataclasses.replace(finding, path=format_path(key)) if key else finding


def _referenced(parsed: dict[str, Document], names: dict[Path, str], root: Path) -> set[Path]:
    """The catalog Tasks and Pipelines that the given documents refer to by name (taskRef,
    pipelineRef), and the Tasks those Pipelines refer to: tekton-lint's context."""
    found: set[Path] = set()
    pending = [parsed[name].data for name in names.values() if isinstance(parsed[name].data, dict)]
    while pending:
        spec = rules.as_dict(pending.pop().get("spec"))
        pipeline = rules.as_dict(spec.get("pipelineSpec")) or spec
        refs = [("Task", spec.get("taskRef")), ("Pipeline", spec.get("pipelineRef"))]
        refs += [("Task", t.get("taskRef")) for s in ("tasks", "finally")
                 for t in rules.as_list(pipeline.get(s)) if isinstance(t, dict)]
        for kind, ref in refs:
            name = rules.as_dict(ref).get("name")
            resource = catalog.find(kind, name, root=root) if isinstance(name, str) and "resolver" not in ref else None
            if resource is not None and resource.path.resolve() not in found:
                found.add(resource.path.resolve())
                try:
                    pending.append(resource.doc)
                except catalog.CatalogError:
                    pass  # its own lint reports why
    return found


def _root(root: Path | None, files: tuple[Path, ...]) -> Path:
    """--root, INTERLOCK_ROOT or the catalog holding the current folder; for FILES outside any
    catalog, the catalog holding them, else the current folder (they are linted as loose files)."""
    if files and root is None and not os.environ.get(paths.ROOT_ENV) and paths.find_root(Path.cwd()) is None:
        return paths.find_root(Path(os.path.commonpath([f.resolve() for f in files]))) or Path.cwd().resolve()
    return root_option.resolve(root)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@root_option.root_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--tekton-lint/--no-tekton-lint", "second_opinion", default=True, show_default=True,
              help="Also run @ibm/tekton-lint and report its findings.")
def lint(files: tuple[Path, ...], root: Path | None, fmt: str, second_opinion: bool) -> None:
    """Lint Tasks, Pipelines, StepActions and their samples/tests YAML.

    FILES default to every catalog file under the catalog root. Exit 0 when there is no error
    (warnings allowed), 1 when there are errors, 2 on a usage error. Rules: scripts/interlock/lint/RULES.md.
    """
    root = _root(root, files)
    targets = engine.targets(list(files), root)
    # the catalog's own yamllint config when it has one, else interlock's (shipped in the package)
    config = next(c for c in (root / ".yamllint", YAMLLINT_DEFAULT) if c.is_file())

    found, parsed = engine.lint(targets, root, config)
    if second_opinion:
        # only files that are one parsed Tekton-or-Kubernetes document; tekton-lint assumes valid YAML
        unknown = {f.file for f in found if f.rule == "unknown-kind"}
        clean = {t.path.resolve(): engine.display(t.path, root) for t in targets}
        clean = {p: name for p, name in clean.items() if name in parsed and name not in unknown}
        context = _referenced(parsed, clean, root)  # catalog Tasks and Pipelines: definitions
        try:
            if context or tekton_lint.checks_any(parsed[name].data for name in clean.values()):
                found += [_locate(f, parsed) for f in tekton_lint.run(clean, context)]
        except tekton_lint.Unavailable as e:
            found.append(Finding("(tekton-lint)", 0, "", "tekton-lint", "warning", f"{e}; second opinion skipped",
                                 tekton_lint.INSTALL_HINT))
    result = findings.sort(found)
    click.echo(findings.as_json(result) if fmt == "json" else findings.as_text(result))
    sys.exit(1 if any(f.severity == "error" for f in result) else 0)
