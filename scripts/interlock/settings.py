"""Project settings from pyproject.toml's [tool.interlock] table (one place for them)."""
from __future__ import annotations

import tomllib
from functools import cache

from interlock.paths import ROOT


@cache
def settings() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    return {"version": project["version"], "license": project.get("license"),
            **data.get("tool", {}).get("interlock", {})}
