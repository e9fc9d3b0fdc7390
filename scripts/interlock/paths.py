"""Where things are.

Two different places, never mixed:
- the **catalog** a command acts on (`interlock lint`, `docs`, `index`, `run`): the folder that
  holds tasks/, pipelines/ or stepactions/. `--root`, else INTERLOCK_ROOT, else the nearest such
  folder at or above the working directory, as git finds its repository. It may be any team's
  repository, not the one interlock was installed from.
- the **tool's own files** (schemas, lint configs, containers.conf): inside the installed package
  (PACKAGE), whatever the catalog. SOURCE is the checkout the package runs from when it is one
  (an editable install): images, requirements and tests live there.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SOURCE = PACKAGE.parents[1]  # scripts/interlock -> the repository (meaningful in a checkout only)
CATALOG_FOLDERS = ("tasks", "pipelines", "stepactions")
ROOT_ENV = "INTERLOCK_ROOT"


class NoCatalog(Exception):
    """No catalog root was given or found; the message says where it looked and what to do."""


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds tasks/, pipelines/ or stepactions/."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents)
                 if any((folder / name).is_dir() for name in CATALOG_FOLDERS)), None)


def catalog_root(explicit: Path | None = None, start: Path | None = None) -> Path:
    """The catalog to act on: `explicit` (--root), INTERLOCK_ROOT, or found from `start` (the cwd)."""
    if explicit is not None:
        return Path(explicit).resolve()
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    start = Path.cwd() if start is None else start
    found = find_root(start)
    if found is None:
        raise NoCatalog(f"no catalog found: no {', '.join(f'{n}/' for n in CATALOG_FOLDERS)} folder in {start} "
                        f"or any folder above it; run inside your catalog, or pass --root DIR (or set {ROOT_ENV})")
    return found


def _default_root() -> Path:
    try:
        return catalog_root()
    except NoCatalog:
        return Path.cwd().resolve()  # commands that need a catalog call catalog_root() and say why


# The catalog of this process (found once, from the directory it started in).
ROOT = _default_root()
TASKS = ROOT / "tasks"
PIPELINES = ROOT / "pipelines"
IMAGES = SOURCE / "images"
# Upstream contracts kept beside the repository (never copied into it); absent in users' clones.
REFERENCE = Path(os.environ.get("INTERLOCK_REFERENCE") or SOURCE.parent / "shared" / "reference")
