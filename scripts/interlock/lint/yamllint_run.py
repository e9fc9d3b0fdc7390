"""yamllint through its Python API, with the catalog's `.yamllint` or interlock's default
(`lint/yamllint.yaml`, shipped in the package)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator

from yamllint import linter
from yamllint.config import YamlLintConfig


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    hint: str
    severity: str


@cache
def _config(path: Path | None) -> YamlLintConfig:
    if path is None:
        return YamlLintConfig("extends: default")
    return YamlLintConfig(file=str(path))


def problems(text: str, file: Path, config: Path | None) -> Iterator[Problem]:
    """yamllint's problems except syntax errors (the loader reports those as yaml-syntax)."""
    for p in linter.run(text, _config(config), str(file)):
        if p.rule is None:
            continue
        yield Problem(p.line, f"{p.desc} ({p.rule}, column {p.column})",
                      f"see yamllint rule `{p.rule}`; config: the catalog's .yamllint, else interlock's lint/yamllint.yaml",
                      "error" if p.level == "error" else "warning")
