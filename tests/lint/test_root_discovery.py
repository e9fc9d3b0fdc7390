"""`interlock lint`, `docs` and `index` act on the catalog holding the current folder, found by
walking up like git; `--root` and INTERLOCK_ROOT override; the tool's own files come from the
package, not from the catalog (a team's catalog has no schemas, configs or Interlock tasks)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from interlock import paths
from interlock.docs import docs
from interlock.index import index
from interlock.lint.command import lint
from tests.lint import team_catalog

@pytest.fixture
def team(tmp_path, monkeypatch):
    """A team's own catalog (no Interlock files in it), with a broken Task to be found."""
    catalog = team_catalog.make(tmp_path / "team-repo", pyproject=False)
    broken = catalog / "tasks" / "hello" / "0.1" / "hello.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("steps:", "stepz:", 1), encoding="utf-8")
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    return catalog


def _lint(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(lint, ["--format", "json", "--no-tekton-lint", *args])
    return result.exit_code, json.loads(result.output)["findings"] if result.output.startswith("{") else result.output


def test_lint_acts_on_the_catalog_holding_the_current_folder(team, monkeypatch):
    monkeypatch.chdir(team / "tasks" / "hello" / "0.1" / "samples")  # deep inside it, as with git
    code, findings = _lint()
    assert code == 1
    assert {f["file"] for f in findings} == {"tasks/hello/0.1/hello.yaml"}
    assert ("schema", "spec.stepz") in {(f["rule"], f["path"]) for f in findings}


@pytest.mark.parametrize("how", ["--root", "env"])
def test_root_and_environment_override_the_current_folder(team, tmp_path, monkeypatch, how):
    monkeypatch.chdir(paths.SOURCE)  # inside Interlock's own checkout
    if how == "env":
        monkeypatch.setenv(paths.ROOT_ENV, str(team))
    code, findings = _lint(*(["--root", str(team)] if how == "--root" else []))
    assert code == 1 and {f["file"] for f in findings} == {"tasks/hello/0.1/hello.yaml"}


def test_outside_any_catalog_is_a_usage_error_not_interlocks_own_tasks(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    for command in (lint, docs, index):
        result = CliRunner().invoke(command, [])
        assert result.exit_code == 2, result.output
        assert f"no catalog found: no tasks/, pipelines/, stepactions/ folder in {tmp_path}" in result.output


def test_docs_and_index_act_on_the_current_catalog(team, monkeypatch):
    (team / "tasks" / "hello" / "0.1" / "hello.yaml").write_text(
        (team_catalog.CLEAN / "tasks" / "hello" / "0.1" / "hello.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    readme = team / "tasks" / "hello" / "0.1" / "README.md"
    readme.write_text("# hello\n", encoding="utf-8")
    monkeypatch.chdir(team / "tasks")
    assert CliRunner().invoke(docs, []).exit_code == 0
    assert "<!-- BEGIN interlock:reference" in readme.read_text(encoding="utf-8")
    missing = CliRunner().invoke(index, [])
    assert missing.exit_code == 1
    assert "pyproject.toml: version, git-url, git-revision not set" in missing.output
    (team / "pyproject.toml").write_text(team_catalog.PYPROJECT, encoding="utf-8")
    assert CliRunner().invoke(index, []).exit_code == 0
    written = (team / "catalog.yaml").read_text(encoding="utf-8")
    assert "catalogVersion: 2.3.0" in written and "git.example.com/team/catalog.git" in written
    assert "pathInRepo\n        value: tasks/hello/0.1/hello.yaml" in written.replace("- name: ", "")
    assert CliRunner().invoke(index, ["--check"]).exit_code == 0


def test_the_catalogs_own_yamllint_config_wins_over_interlocks(team, monkeypatch):
    monkeypatch.chdir(team)
    (team / "tasks" / "hello" / "0.1" / "hello.yaml").write_text(
        (team_catalog.CLEAN / "tasks" / "hello" / "0.1" / "hello.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert _lint() == (0, [])
    (team / ".yamllint").write_text("extends: default\nrules:\n  document-start: disable\n  line-length: {max: 40}\n")
    code, findings = _lint()
    assert code == 1 and {f["rule"] for f in findings} == {"yaml-lint"}
    assert all("line too long" in f["message"] for f in findings)
