"""A team's own catalog for the tests of `interlock` on other people's repositories: a copy of the
clean fixture tree (tasks/hello/0.1 with README and samples), nothing of Interlock's in it."""
from __future__ import annotations

import shutil
from pathlib import Path

CLEAN = Path(__file__).parent / "fixtures" / "clean"
PYPROJECT = """[project]
name = "team-catalog"
version = "2.3.0"

[tool.interlock]
git-url = "https://git.example.com/team/catalog.git"
git-revision = "stable"
bundle-repository = "registry.example.com/team/bundles"
"""


def make(folder: Path, *, pyproject: bool = True) -> Path:
    """The team's catalog at `folder` (its [tool.interlock] settings too, unless told not to)."""
    shutil.copytree(CLEAN, folder)
    if pyproject:
        (folder / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return folder
