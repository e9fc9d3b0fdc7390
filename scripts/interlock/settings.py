"""Catalog settings from the `[tool.interlock]` table of the catalog's pyproject.toml (one place
for them): where the catalog is published (git-url, git-revision), which
`interlock index` writes into catalog.yaml's references, and the catalog's version."""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from interlock import paths

KEYS = ("git-url", "git-revision")


class SettingsMissing(Exception):
    """The catalog has no (complete) [tool.interlock] table; the message says what to add."""


@cache
def settings(root: Path | None = None) -> dict:
    """{"version", "license", "git-url", "git-revision"} of the catalog at `root`
    (default: this process's catalog)."""
    path = Path(root or paths.ROOT) / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsMissing(f"{path}: cannot read it: {error}") from None
    project = data.get("project") or {}
    found = {"version": project.get("version"), "license": project.get("license"),
             **(data.get("tool") or {}).get("interlock", {})}
    missing = [key for key in ("version", *KEYS) if not found.get(key)]
    if missing:
        raise SettingsMissing(
            f"{path}: {', '.join(missing)} not set; add [project] version and a [tool.interlock] table with "
            'git-url = "https://…/your-catalog.git", git-revision = "main" '
            "(they go into catalog.yaml's references)")
    return found
