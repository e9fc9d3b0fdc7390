"""@ibm/tekton-lint (npm, pinned in scripts/setup.sh) as a second opinion, rule `tekton-lint`.

It is run once over all the files that parsed cleanly, so a TaskRun in samples/ can see the
Task it refers to. Its JSON output is a list of
`{message, rule, level, path, loc: {startLine, ...}}`; the rule it fired goes in the message.
Its rule levels come from tektonlintrc.yaml beside this module (choices explained there).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from interlock import paths
from interlock.lint.findings import Finding

# Where `make setup` installs it in an Interlock checkout; elsewhere, a `tekton-lint` on PATH.
BINARY = paths.SOURCE / ".tools" / "node" / "node_modules" / ".bin" / "tekton-lint"
INSTALL_HINT = ("install it (`npm install -g @ibm/tekton-lint@1.1.0`, or `make setup` in an Interlock checkout), "
                "or pass --no-tekton-lint")
CONFIG = Path(__file__).resolve().parent / "tektonlintrc.yaml"
_AT_PATH = re.compile(r" at \.([A-Za-z0-9_.\[\]-]+)")
# The kinds it checks (`parse` in its dist/rules.js). Given none of them with a metadata.name (a
# TaskRun linted alone) it throws "No tekton definitions can be found" and exits 1 through an
# asynchronous logger that sometimes loses that line, leaving an exit 1 with no output at all: so
# it is not run then (`checks_any`), instead of reading its output.
DEFINITIONS = frozenset({"Task", "ClusterTask", "Pipeline", "PipelineRun", "EventListener",
                         "TriggerTemplate", "TriggerBinding", "Condition"})


class Unavailable(Exception):
    """tekton-lint cannot run here; the message says why and how to fix it."""


def run(files: dict[Path, str], context: Iterable[Path] = (), timeout: float = 120) -> list[Finding]:
    """Findings for files (absolute path -> name to print); Unavailable if it cannot run.

    `context` files (the catalog Tasks and Pipelines the files refer to by name) are linted
    along, so a Pipeline linted alone does not read as referring to a missing Task, but their
    own findings are not reported."""
    if not files:
        return []
    binary = str(BINARY) if BINARY.exists() else shutil.which("tekton-lint")
    if binary is None:
        raise Unavailable(f"tekton-lint is not installed (not at {BINARY}, not on PATH)")
    if shutil.which("node") is None:
        raise Unavailable("node is not on PATH")
    with tempfile.TemporaryDirectory(prefix="tekton-lint-") as cache:
        # its cache of external tasks would go to ~/.tekton-lint; keep runs side-effect free
        env = {**os.environ, "TL_CACHE_DIR": cache, "FORCE_COLOR": "0"}
        extra = sorted({str(p) for p in context} - {str(p) for p in files})
        cmd = [binary, "--format", "json", "--color", "false", "--config", str(CONFIG), *map(str, files), *extra]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cache)
        except subprocess.TimeoutExpired:
            raise Unavailable(f"tekton-lint did not finish in {timeout:.0f}s") from None
    reported = _json_line(proc.stdout)
    if reported is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Unavailable(f"tekton-lint exited {proc.returncode} without JSON output: {detail[0][:200]}")
    by_path = {str(p): name for p, name in files.items()}
    out = []
    for item in reported:
        if _misunderstood(item) or str(item.get("path")) not in by_path:
            continue
        loc = item.get("loc") or {}
        message = str(item.get("message", "")).strip()
        m = _AT_PATH.search(message)
        out.append(Finding(
            file=by_path.get(str(item.get("path")), str(item.get("path"))),
            line=int(loc.get("startLine") or 1),
            path=m.group(1) if m else "",
            rule="tekton-lint",
            severity="error" if item.get("level") == "error" else "warning",
            message=f"{message} ({item.get('rule')})",
            hint=f"see @ibm/tekton-lint rule `{item.get('rule')}`; levels in scripts/interlock/lint/tektonlintrc.yaml",
        ))
    return out


def checks_any(docs: Iterable[object]) -> bool:
    """Whether tekton-lint has something to check among these parsed documents."""
    return any(isinstance(d, dict) and d.get("kind") in DEFINITIONS
               and isinstance(d.get("metadata"), dict) and d["metadata"].get("name") for d in docs)


def _json_line(stdout: str) -> list[dict] | None:
    """The JSON report: it may be followed by log lines when one of its rules crashes."""
    for line in stdout.splitlines():
        if line.startswith("["):
            try:
                found = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(found, list):
                return found
    return None


def _misunderstood(item: dict) -> bool:
    """Findings that come from tekton-lint not knowing remote resolution (taskRef/pipelineRef
    with `resolver:`), not from a problem in the YAML: IBM/tekton-lint issue #118."""
    message = str(item.get("message", ""))
    if item.get("rule") == "no-missing-resource" and "references task 'undefined'" in message:
        return True  # a resolver ref has no name to look up
    # resolver params are named by Tekton's resolvers (pathInRepo), not by us
    resolver_param = re.search(r"\.(taskRef|pipelineRef)\.params\[", message)
    return item.get("rule") == "prefer-kebab-case" and resolver_param is not None
