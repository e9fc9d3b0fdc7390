"""@ibm/tekton-lint as a second opinion: its findings in our format, and a clear warning
(not a failure) when it is not installed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.lint import tekton_lint
from interlock.lint.command import lint

FIXTURES = Path(__file__).parent / "fixtures"
installed = pytest.mark.skipif(not tekton_lint.BINARY.exists(),
                               reason=f"tekton-lint not installed at {tekton_lint.BINARY}; run scripts/setup.sh")


def _findings(*args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(lint, ["--format", "json", *args])
    return result.exit_code, json.loads(result.output)["findings"]


@installed
def test_tekton_lint_finding_is_reported_in_our_format():
    folder = FIXTURES / "tekton-lint"
    code, findings = _findings("--root", str(folder), str(folder))
    assert code == 1
    assert [(f["rule"], f["file"], f["line"], f["path"], f["severity"]) for f in findings] == [
        ("tekton-lint", "greet.yaml", 18, "spec.tasks[0].params[1]", "error")]
    assert "(no-extra-param)" in findings[0]["message"]
    # without the second opinion, our own rules accept the same files: the finding is its own
    assert _findings("--no-tekton-lint", "--root", str(folder), str(folder)) == (0, [])


@installed
def test_tekton_lint_accepts_the_clean_fixture_with_its_samples():
    assert _findings("--root", str(FIXTURES / "clean")) == (0, [])


def test_missing_tekton_lint_is_one_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(tekton_lint, "BINARY", tmp_path / "no-such-tekton-lint")
    code, findings = _findings("--root", str(FIXTURES / "clean"))
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in findings] == [("tekton-lint", "warning")]
    assert "not installed" in findings[0]["message"]
