"""`interlock lint` passes on the real catalog (every Task, Pipeline and their samples/tests)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from interlock import paths
from interlock.lint import engine, tekton_lint
from interlock.lint.command import lint


def test_the_catalog_lints_clean():
    targets = engine.discover(paths.ROOT)
    if not any(t.role == "resource" for t in targets):
        pytest.skip(f"no Task or Pipeline under {paths.ROOT} yet: nothing to lint")
    args = ["--format", "json"] + ([] if tekton_lint.BINARY.exists() else ["--no-tekton-lint"])
    result = CliRunner().invoke(lint, args)
    report = json.loads(result.output)
    errors = [f"{f['file']}:{f['line']} {f['path']} [{f['rule']}] {f['message']}"
              for f in report["findings"] if f["severity"] == "error"]
    assert errors == [] and result.exit_code == 0
