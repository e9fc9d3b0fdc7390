"""The `interlock` tool as a team installs it: a wheel built from this working tree, installed by
pip into a fresh virtualenv outside the repository, run from inside the team's own catalog. It must
carry its own schemas, lint configs and rules, lint the team's tasks/ (and nothing of Interlock's),
and keep `docs` and `index` on that catalog.

The wheel is built with pip's build isolation (it fetches setuptools from PyPI or pip's cache, as
`make setup` does); the tool's third-party dependencies (click, jsonschema, PyYAML, yamllint) are
taken from the development venv through a .pth file, so that installing them needs no network."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from interlock import paths
from tests.lint import team_catalog

def _run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Nothing of the checkout reaches the installed tool: not the dev venv on PATH, not a root.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", paths.ROOT_ENV)}
    env.update(PATH="/usr/bin:/bin", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv (outside the repository) with the wheel built from this working tree."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: building in the checkout would write into its build/
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(paths.SOURCE / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(paths.SOURCE / "scripts" / "interlock", source / "scripts" / "interlock", ignore=ignore)
    shutil.copytree(paths.SOURCE / "images" / "interlock_steps", source / "images" / "interlock_steps", ignore=ignore)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source), cwd=work)
    [wheel] = (work / "dist").glob("interlock-*.whl")
    env = work / "venv"
    venv.create(env, with_pip=True)
    _run(str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel), cwd=work)
    site = Path(_run(str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                     cwd=work).stdout.strip())
    (site / "zz-dev-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return env / "bin"


@pytest.fixture
def team(tmp_path) -> Path:
    return team_catalog.make(tmp_path / "team-repo")


def test_the_wheel_carries_the_tools_own_files(installed, team):
    probe = ("import interlock.schemas as s, interlock.lint.command as c, interlock.podman as p; "
             "print(s.HERE); print(c.YAMLLINT_DEFAULT); print(p.CONF)")
    found = [Path(line) for line in _run(str(installed / "python"), "-c", probe, cwd=team).stdout.split()]
    venv_root = installed.parent
    assert all(path.is_relative_to(venv_root) and path.exists() for path in found), found
    assert sorted(p.name for p in found[0].glob("*.json")) == sorted(f.name for f in (paths.PACKAGE / "schemas").glob("*.json"))


def test_the_installed_tool_lints_a_teams_own_tasks(installed, team):
    task = team / "tasks" / "hello" / "0.1" / "hello.yaml"
    ok = _run(str(installed / "interlock"), "lint", "--no-tekton-lint", "--format", "json", cwd=team / "tasks")
    assert json.loads(ok.stdout) == {"findings": [], "summary": {"errors": 0, "warnings": 0}}
    task.write_text(task.read_text(encoding="utf-8").replace("steps:", "stepz:", 1)
                    + "      timeout: soon\n", encoding="utf-8")
    broken = _run(str(installed / "interlock"), "lint", "--no-tekton-lint", "--format", "json", cwd=team, check=False)
    assert broken.returncode == 1, broken.stderr
    findings = json.loads(broken.stdout)["findings"]
    assert {f["file"] for f in findings} == {"tasks/hello/0.1/hello.yaml"}  # theirs, none of Interlock's
    assert ("schema", "spec.stepz") in {(f["rule"], f["path"]) for f in findings}


def test_the_installed_tool_documents_and_indexes_the_teams_catalog(installed, team):
    readme = team / "tasks" / "hello" / "0.1" / "README.md"
    readme.write_text("# hello\n", encoding="utf-8")
    _run(str(installed / "interlock"), "docs", cwd=team)
    assert "<!-- BEGIN interlock:reference" in readme.read_text(encoding="utf-8")
    _run(str(installed / "interlock"), "index", cwd=team)
    assert "git.example.com/team/catalog.git" in (team / "catalog.yaml").read_text(encoding="utf-8")
    outside = _run(str(installed / "interlock"), "lint", cwd=team.parent, check=False)
    assert outside.returncode == 2 and "no catalog found" in outside.stderr
