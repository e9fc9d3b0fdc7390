"""One finding = one problem at one place, with a rule id and a one-line fix hint."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    file: str  # relative to the lint root when inside it
    line: int
    path: str  # document path, e.g. spec.steps[1].env[0]; "" for the whole file
    rule: str  # stable id, see RULES.md
    severity: Severity
    message: str
    hint: str

    def text(self) -> str:
        where = f"{self.file}:{self.line}" + (f" {self.path}" if self.path else "")
        return f"{where} [{self.rule}] {self.severity}: {self.message} — {self.hint}"


def sort(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(set(findings), key=lambda f: (f.file, f.line, f.path, f.rule, f.message))


def as_text(findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    lines = [f.text() for f in findings]
    lines.append(f"{errors} error(s), {len(findings) - errors} warning(s)")
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    return json.dumps({"findings": [asdict(f) for f in findings],
                       "summary": {"errors": errors, "warnings": len(findings) - errors}}, indent=2)
