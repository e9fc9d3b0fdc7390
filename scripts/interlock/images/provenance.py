"""Revision, timestamp and source of an image (or a bundle), derived from its inputs rather
than from HEAD or from the clone.

An image's revision is the last commit that touched one of its inputs (spec.inputs()), and its
SOURCE_DATE_EPOCH is that commit's time. So a commit that only edits Task YAML (for example
`interlock images pin`) does not change any image digest, while editing packages.txt or the
step code does. Uncommitted edits to the inputs mark the revision `-dirty`. The source URL is
the project's (`git-url` in pyproject.toml), never the clone's remote: clones of one commit
from different URLs build the same digests.
"""
from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from interlock.paths import ROOT
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


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def source_url() -> str:
    """Where the source lives: `git-url` of [tool.interlock] in pyproject.toml."""
    return settings()["git-url"]


def of(inputs: list[Path]) -> Provenance:
    rel = [str(p.relative_to(ROOT)) for p in inputs if p.exists()]
    last = _git("log", "-1", "--format=%H %ct", "--", *rel) if rel else None
    revision, epoch = (last.split() if last else ("unknown", "0"))
    dirty = _git("status", "--porcelain", "--untracked-files=all", "--", *rel) if rel else None
    if dirty:
        revision += "-dirty"
    # an explicit SOURCE_DATE_EPOCH (the reproducible-builds convention) wins
    env_epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    return Provenance(revision, int(env_epoch) if env_epoch.isdigit() else int(epoch), source_url())
