"""Prune rules on an installed tree: what integration images leave out (images/<name>/prune.txt)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from interlock.images import prune
from interlock.images.spec import SPECS


def _tree(root: Path, *files: str) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)


def _left(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_folders_go_whole_and_keep_rules_win(tmp_path):
    _tree(tmp_path, "pkg/a.py", "pkg/sub/b.py", "pkg_v1/c.py", "other/doc.txt", "other/LICENSE")
    removed, unused = prune.prune_tree(tmp_path, ["pkg/", "other/*", "!other/LICENSE"])
    assert (removed, unused) == (3, [])
    assert _left(tmp_path) == ["other", "other/LICENSE", "pkg_v1", "pkg_v1/c.py"]


def test_rules_that_match_nothing_are_reported(tmp_path):
    _tree(tmp_path, "pkg/a.py")
    assert prune.prune_tree(tmp_path, ["pkg/", "gone/", "*.so"]) == (1, ["gone/", "*.so"])


def test_symlinks_are_removed_not_followed(tmp_path):
    _tree(tmp_path, "keep/data.txt")
    (tmp_path / "link").symlink_to(tmp_path / "keep")
    assert prune.prune_tree(tmp_path, ["link"]) == (1, [])
    assert _left(tmp_path) == ["keep", "keep/data.txt"]


def test_command_line_fails_naming_a_stale_rule(tmp_path):
    _tree(tmp_path / "site", "pkg/a.py")
    rules = tmp_path / "prune.txt"
    rules.write_text("# comment\npkg/\nvanished/   # gone from the wheel\n")
    proc = subprocess.run([sys.executable, prune.__file__, str(rules), str(tmp_path / "site")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "vanished/" in proc.stderr and str(rules) in proc.stderr
    _tree(tmp_path / "site", "pkg/a.py")
    rules.write_text("pkg/\n")
    proc = subprocess.run([sys.executable, prune.__file__, str(rules), str(tmp_path / "site")],
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"pruned 1 file(s) under {tmp_path / 'site'}")


def test_vertex_prunes_the_high_level_sdk_only():
    rules = prune.read_rules(SPECS["vertex"].prune_rules)
    assert prune.pruned("google/cloud/aiplatform/models.py", rules)
    assert prune.pruned("google/cloud/aiplatform_v1beta1/types/model.py", rules)
    assert prune.pruned("vertexai/__init__.py", rules)
    assert not prune.pruned("google/cloud/aiplatform_v1/types/model.py", rules)
    assert not prune.pruned("google/auth/__init__.py", rules)
    assert SPECS["vertex"].prune_rules in SPECS["vertex"].inputs()
