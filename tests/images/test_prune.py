"""Prune rules (interlock.images.prune): one syntax for the base's .debs and the integration
images' installed packages, and the tree pruning the install stage runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from interlock.images.prune import prune_tree, pruned, read_rules
from interlock.paths import IMAGES

RULES = ["pkg/aio/", "pkg/api/*", "!pkg/api/__init__.py", "!pkg/api/keep_api.py", "pkg/*_test.py", "other/"]


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x" * 10)


def test_prune_tree_removes_matches_keeps_exceptions_and_empty_folders(tmp_path):
    _tree(tmp_path, ["pkg/__init__.py", "pkg/aio/a.py", "pkg/aio/sub/b.py", "pkg/api/__init__.py", "pkg/api/keep_api.py",
                     "pkg/api/core_api.py", "pkg/config/kube_test.py", "pkg/config/kube.py", "other/x.py", "others/y.py"])
    files, size = prune_tree(tmp_path, RULES)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == ["others", "others/y.py", "pkg", "pkg/__init__.py", "pkg/api", "pkg/api/__init__.py",
                    "pkg/api/keep_api.py", "pkg/config", "pkg/config/kube.py"]
    assert (files, size) == (5, 50)


def test_the_command_line_the_install_stage_runs(tmp_path):
    rules = tmp_path / "prune.txt"
    rules.write_text("# comment\nother/  # trailing comment\n")
    _tree(tmp_path / "site", ["other/x.py", "kept.py"])
    script = Path(__file__).resolve().parents[2] / "scripts" / "interlock" / "images" / "prune.py"
    done = subprocess.run([sys.executable, "-I", str(script), str(rules), str(tmp_path / "site")],
                          capture_output=True, text=True, check=True)
    assert "pruned 1 files" in done.stdout and (tmp_path / "site" / "kept.py").exists()
    assert not (tmp_path / "site" / "other").exists()


def test_istio_rules_keep_what_the_steps_import():
    rules = read_rules(IMAGES / "istio" / "prune.txt")
    for kept in ("kubernetes/__init__.py", "kubernetes/client/api/__init__.py", "kubernetes/client/api/custom_objects_api.py",
                 "kubernetes/client/api_client.py", "kubernetes/client/models/v1_delete_options.py",
                 "kubernetes/config/kube_config.py", "kubernetes/config/incluster_config.py", "pydantic/main.py",
                 "urllib3/__init__.py", "requests/__init__.py", "interlock_steps/istio/canary_shift.py"):
        assert not pruned(kept, rules), kept
    for dropped in ("kubernetes/aio/client/api/core_v1_api.py", "kubernetes/client/api/core_v1_api.py",
                    "aiohttp/client.py", "yarl/__init__.py", "kubernetes/config/kube_config_test.py"):
        assert pruned(dropped, rules), dropped
