"""Loading and structural validation of run inputs: every file goes through the one YAML loader
(interlock.lint.yaml_loader: size, depth and alias caps) and is checked against the lint
engine's Tekton JSON Schemas (closed: an unknown field is an error), so `interlock run` and
`interlock lint` agree on what is valid. Semantic checks (types of values, references) stay in
the runner, which knows the values."""
from __future__ import annotations

from pathlib import Path

from interlock.lint import schema, yaml_loader
from interlock.run.errors import InvalidRun

API_VERSION = "tekton.dev/v1"
MAX_SHOWN = 3


def load(path: Path, kind: str | tuple[str, ...], where: str) -> dict:
    """The `kind` resource in `path`, checked against its schema; InvalidRun names `where`
    (the run file, or the field that referred to this file) for a file that cannot be read."""
    doc, problem = yaml_loader.load(Path(path))
    if problem is not None:
        raise InvalidRun(where if where == str(path) else f"{where}: {path}",
                         f"{problem.message} (line {problem.line})")
    assert doc is not None
    data = doc.data
    kinds = (kind,) if isinstance(kind, str) else kind
    if not isinstance(data, dict):
        raise InvalidRun(f"{path}", f"expected a {' or '.join(kinds)} mapping, found "
                                    f"{type(data).__name__}")
    if data.get("kind") not in kinds:
        raise InvalidRun(f"{path}: kind", f"expected {' or '.join(kinds)}, got {data.get('kind')!r}")
    if data.get("apiVersion") != API_VERSION:
        raise InvalidRun(f"{path}: apiVersion", f"expected {API_VERSION}, got "
                                                f"{data.get('apiVersion')!r} (v1beta1 is not supported)")
    found = [(yaml_loader.format_path(at), doc.line(at), msg, hint)
             for at, msg, hint in schema.problems(doc, API_VERSION, data["kind"])]
    if found:
        shown = "; ".join(f"line {line}: {at}: {msg} ({hint})" for at, line, msg, hint in
                          found[:MAX_SHOWN])
        more = f" (and {len(found) - MAX_SHOWN} more)" if len(found) > MAX_SHOWN else ""
        raise InvalidRun(f"{path}", f"not a valid {data['kind']}: {shown}{more}")
    if not isinstance(data.get("spec"), dict):
        raise InvalidRun(f"{path}: spec", "missing or not a mapping")
    return data
