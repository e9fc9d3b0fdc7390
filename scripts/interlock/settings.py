"""Project settings from pyproject.toml's [tool.interlock] table (one place for them)."""
from __future__ import annotations

import tomllib
from functools import cache

from interlock.paths import ROOT


@cache
def settings() -> dict:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {"version": data["project"]["version"], **data.get("tool", {}).get("interlock", {})}
