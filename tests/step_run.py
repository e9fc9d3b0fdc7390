"""A step's real `main`, run in-process as its container runs it (the runtime's argument parsing,
logging, results and report), and what it left behind: the helper the Looker, Istio and Vertex AI
step tests share (each suite's conftest adds the arguments that reach its fakes)."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from interlock_steps import runtime as rt


@dataclass
class StepRun:
    code: int
    log: str
    results: dict[str, str]
    report: dict | None

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.splitlines() if line.startswith("{")]

    @property
    def error(self) -> str:
        """The last error the step logged (the one it ended with), or ""."""
        errors = [line["msg"] for line in self.lines if line["level"] == "error"]
        return errors[-1] if errors else ""


def run_step(module: ModuleType, argv: list[str], folder: Path, *, report: bool = False, **options: Any) -> StepRun:
    """Run `module.main` with `argv`, its results (and with `report`, its report) written under
    `folder`, emptied first; `options` go to the runtime's run_step (environ, clock, sleep)."""
    results, reports = folder / "results", folder / "report"
    for where in (results, reports):
        where.mkdir(parents=True, exist_ok=True)
        for old in where.iterdir():
            old.unlink()
    argv = [*argv, "--results-dir", str(results), *(["--report-dir", str(reports)] if report else [])]
    out = io.StringIO()
    code = rt.step.run_step(module.main, task=module.__name__.rsplit(".", 1)[-1], step="test", params=module.PARAMS,
                            argv=argv, stream=out, **options)
    written = {p.name: p.read_text() for p in results.iterdir() if not p.name.startswith(".")}
    report_file = next(reports.glob("*.json"), None)
    return StepRun(code, out.getvalue(), written, json.loads(report_file.read_text()) if report_file else None)
