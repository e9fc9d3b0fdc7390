"""Structural validation of run inputs with the lint engine's Tekton JSON Schemas (closed: an
unknown field is an error), so `interlock run` and `interlock lint` agree on what is valid.
Semantic checks (types of values, references) stay in the runner, which knows the values."""
from __future__ import annotations

from pathlib import Path

from interlock.run.errors import InvalidRun

MAX_SHOWN = 3


def check(path: Path, kind: str) -> None:
    """Raise InvalidRun listing the first problems of `path` against the schema of `kind`."""
    try:
        from interlock.lint import schema, yaml_loader
    except ImportError:  # the lint package is optional for the runner
        return
    doc, problem = yaml_loader.load(Path(path))
    if doc is None:
        return  # load_run reports unreadable YAML itself, with its own message
    found = [(yaml_loader.format_path(at), doc.line(at), msg, hint)
             for at, msg, hint in schema.problems(doc, "tekton.dev/v1", kind)]
    if not found:
        return
    shown = "; ".join(f"line {line}: {where}: {msg} ({hint})" for where, line, msg, hint in
                      found[:MAX_SHOWN])
    more = f" (and {len(found) - MAX_SHOWN} more)" if len(found) > MAX_SHOWN else ""
    raise InvalidRun(f"{path}", f"not a valid {kind}: {shown}{more}")
