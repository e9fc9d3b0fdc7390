"""Versioning discipline: a published version keeps its interface; breaking changes go into a
new version folder. One fixture per kind of change (fixtures/<change>.yaml against base.yaml)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from interlock.versions import breaking
from tests.conftest import git

FIXTURES = Path(__file__).parent / "fixtures"
BASE = yaml.safe_load((FIXTURES / "base.yaml").read_text())

CASES = {
    "param-removed": ["param `greeting` removed"],
    "param-type-changed": ["param `tags` type array -> string"],
    "default-changed": ["param `greeting` default 'hello' -> 'hi'"],
    "default-dropped": ["param `greeting` lost its default (now required)"],
    "required-param-added": ["new param `language` has no default (every run must now pass it)"],
    "result-removed": ["result `text` removed"],
    "workspace-required": ["workspace `out` is no longer optional"],
    "workspace-removed": ["workspace `out` removed"],
    "required-workspace-added": ["new workspace `cache` is required"],
    "compatible": [],
}


def test_every_fixture_has_a_case():
    assert {p.stem for p in FIXTURES.glob("*.yaml")} - {"base"} == set(CASES)


@pytest.mark.parametrize("change", sorted(CASES))
def test_each_breaking_change_is_named(change):
    assert breaking(BASE, yaml.safe_load((FIXTURES / f"{change}.yaml").read_text())) == CASES[change]


def test_a_breaking_edit_to_a_published_version_fails(interlock_in, catalog_copy):
    assert "no breaking change in a published version" in interlock_in("versions").stdout
    task = catalog_copy / "tasks/looker-validate/0.1/looker-validate.yaml"
    original = task.read_text()
    task.write_text(original.replace('      default: "false"\n', '      default: "true"\n', 1))
    failed = interlock_in("versions", check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: tasks/looker-validate/0.1/looker-validate.yaml: param `dry-run` "
                                    "default 'false' -> 'true': a published version keeps its interface")

    # the same change in a new version folder is what versions are for: reported, not refused
    task.write_text(original)
    new = catalog_copy / "tasks/looker-validate/0.2"
    shutil.copytree(task.parent, new)
    (new / "looker-validate.yaml").write_text(original.replace('      default: "false"\n', '      default: "true"\n', 1))
    passed = interlock_in("versions")
    assert "new   task looker-validate 0.2: breaks 0.1: param `dry-run` default 'false' -> 'true'" in passed.stdout

    # once 0.2 is committed it is published too: compared with itself from then on
    git(catalog_copy, "add", ".")
    git(catalog_copy, "commit", "-q", "-m", "0.2")
    assert interlock_in("versions", "--base", "HEAD").returncode == 0
    refused = interlock_in("versions", "--base", "no-such-ref", check=False)
    assert refused.returncode == 1 and "--base 'no-such-ref' is not a revision" in refused.stderr
