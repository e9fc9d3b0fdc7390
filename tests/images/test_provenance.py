"""Revision and timestamp come from the last commit that touched an image's inputs."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from interlock.images import provenance
from interlock.settings import settings


def _git(repo: Path, *args: str, date: str | None = None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    _git(tmp_path, "init", "-q")
    (tmp_path / "images" / "base").mkdir(parents=True)
    (tmp_path / "images" / "base" / "packages.txt").write_text("libc6\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base", date="2024-01-02T03:04:05Z")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "t.yaml").write_text("kind: Task\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "unrelated", date="2025-01-01T00:00:00Z")
    return tmp_path


def test_unrelated_commits_do_not_move_revision_or_time(repo: Path):
    first = _git(repo, "rev-list", "--max-count=1", "HEAD~1")
    prov = provenance.of([repo / "images" / "base"])
    assert prov.revision == first
    assert prov.created == "2024-01-02T03:04:05Z"
    assert prov.source == settings()["git-url"]


def test_the_clone_url_does_not_change_provenance(repo: Path):
    """Two clones of one commit from different URLs must build the same image: the source label
    comes from pyproject.toml, not from the clone's remote."""
    _git(repo, "remote", "add", "origin", "https://mirror-a.example.org/interlock.git")
    first = provenance.of([repo / "images" / "base"])
    _git(repo, "remote", "set-url", "origin", "/somewhere/else/interlock")
    assert provenance.of([repo / "images" / "base"]) == first
    assert first.source == settings()["git-url"]


def test_uncommitted_input_edits_mark_the_revision_dirty(repo: Path):
    (repo / "images" / "base" / "packages.txt").write_text("libc6\nzlib1g\n")
    assert provenance.of([repo / "images" / "base"]).revision.endswith("-dirty")
    (repo / "tasks" / "t.yaml").write_text("changed\n")
    (repo / "images" / "base" / "packages.txt").write_text("libc6\n")
    assert not provenance.of([repo / "images" / "base"]).revision.endswith("-dirty")
