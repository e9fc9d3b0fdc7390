"""Revision, timestamp and source of an image (or a bundle), derived from its inputs rather
than from HEAD or from the clone.

An image's revision is the last commit that touched one of its inputs (spec.inputs()), and its
SOURCE_DATE_EPOCH is that commit's time. So a commit that only edits Task YAML (for example
`interlock images pin`) does not change any image digest, while editing packages.txt or the
step code does. Uncommitted edits to the inputs mark the revision `-dirty`. The history read is
the git repository the inputs are in: the checkout for images and the fakes image, the catalog's
repository for bundles. The source URL is the project's (`git-url` in pyproject.toml), never the
clone's remote: clones of one commit from different URLs build the same digests.
"""
from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from interlock.settings import settings


@dataclass(frozen=True)
class Provenance:
    revision: str
    epoch: int
    source: str

    @property
    def created(self) -> str:
        return datetime.datetime.fromtimestamp(self.epoch, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")


def _git(folder: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _repository(inputs: list[Path]) -> Path | None:
    """The top of the git repository holding the first input that exists."""
    first = next((p for p in inputs if p.exists()), None)
    top = _git(first if first.is_dir() else first.parent, "rev-parse", "--show-toplevel") if first else None
    return Path(top).resolve() if top else None


def source_url() -> str:
    """Where the source lives: `git-url` of [tool.interlock] in pyproject.toml."""
    return settings()["git-url"]


def of(inputs: list[Path]) -> Provenance:
    root = _repository(inputs)
    rel = [str(p.resolve().relative_to(root)) for p in inputs if p.exists()] if root else []
    last = _git(root, "log", "-1", "--format=%H %ct", "--", *rel) if root and rel else None
    revision, epoch = (last.split() if last else ("unknown", "0"))
    dirty = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *rel) if root and rel else None
    if dirty:
        revision += "-dirty"
    # an explicit SOURCE_DATE_EPOCH (the reproducible-builds convention) wins
    env_epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return Provenance(revision, int(env_epoch) if env_epoch.isdigit() else int(epoch), source_url())
