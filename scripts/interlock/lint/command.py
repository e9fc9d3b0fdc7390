"""`interlock lint`: the click command (discovery, output, exit code)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from interlock import paths
from interlock.lint import engine, findings, tekton_lint
from interlock.lint.findings import Finding


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Catalog root holding tasks/ and pipelines/ (default: the repository).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--tekton-lint/--no-tekton-lint", "second_opinion", default=True, show_default=True,
              help="Also run @ibm/tekton-lint and report its findings.")
def lint(files: tuple[Path, ...], root: Path | None, fmt: str, second_opinion: bool) -> None:
    """Lint Tasks, Pipelines, StepActions and their samples/tests YAML.

    FILES default to every catalog file under --root. Exit 0 when there is no error
    (warnings allowed), 1 when there are errors, 2 on a usage error. Rules: RULES.md.
    """
    root = (root or paths.ROOT).resolve()
    targets = engine.targets(list(files), root)
    config = next((c for c in (root / ".yamllint", paths.ROOT / ".yamllint") if c.is_file()), None)

    found: list[Finding] = list(engine.lint(targets, root, config))
    if second_opinion:
        broken = {f.file for f in found if f.rule in ("yaml-syntax", "not-utf8", "multi-document", "unknown-kind")}
        clean = {t.path.resolve(): engine.display(t.path, root) for t in targets}
        clean = {p: name for p, name in clean.items() if name not in broken}
        try:
            found += tekton_lint.run(clean)
        except tekton_lint.Unavailable as e:
            found.append(Finding("(tekton-lint)", 0, "", "tekton-lint", "warning", f"{e}; second opinion skipped",
                                 "run `bash scripts/setup.sh` (or pass --no-tekton-lint)"))
    result = findings.sort(found)
    click.echo(findings.as_json(result) if fmt == "json" else findings.as_text(result))
    sys.exit(1 if any(f.severity == "error" for f in result) else 0)
