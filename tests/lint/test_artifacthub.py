"""Artifact Hub metadata checks, one bad value at a time (the fixtures cover one per rule)."""
from __future__ import annotations

import pytest
import yaml

from interlock import catalog
from interlock.lint import artifacthub

GOOD = yaml.safe_load(catalog.find("Task", "looker-refresh").path.read_text())["metadata"]["annotations"]
AT = ("metadata", "annotations")


def problems(**changes) -> list[tuple[str, str]]:
    annotations = {k: v for k, v in {**GOOD, **{"artifacthub.io/" + k: v for k, v in changes.items()}}.items()
                   if v is not None}
    return [(h.key[-1], h.message) for h in artifacthub.annotation_hits(annotations, AT, "Apache-2.0")]


def test_the_real_tasks_carry_valid_annotations():
    assert problems() == []


@pytest.mark.parametrize("change, message", [
    ({"provider": None}, "annotation artifacthub.io/provider is missing"),
    ({"license": "MIT"}, "annotation artifacthub.io/license is 'MIT', the project's licence is 'Apache-2.0'"),
    ({"maintainers": "- name: someone\n"}, "annotation artifacthub.io/maintainers entry 0 has no email"),
    ({"links": "- name: docs\n  url: ftp://x\n"}, "annotation artifacthub.io/links entry 0: url 'ftp://x' is not an http(s) URL"),
    ({"links": "name: docs"}, "annotation artifacthub.io/links is not a non-empty YAML list (write it as a `|` block)"),
    ({"changes": "- kind: improved\n  description: faster\n"},
     "annotation artifacthub.io/changes is not a YAML list of {kind, description}"),
    ({"changes": "- Added cool feature\n"}, "annotation artifacthub.io/changes is not a YAML list of {kind, description}"),
    ({"recommendations": "- url: https://example.org/x\n"},
     "annotation artifacthub.io/recommendations names 'https://example.org/x', not an Artifact Hub package"),
    ({"maintainer": "x"}, "annotation artifacthub.io/maintainer is not one Artifact Hub reads"),
])
def test_each_bad_value_is_named(change, message):
    found = problems(**change)
    assert [m for _, m in found] == [message]


def test_changelog_items_continue_on_indented_lines():
    text = "# x\n\n## 0.2\n\n- Fixed: a\n  b\n- Added: c\n\n## 0.1\n\n- Added: first\n"
    assert artifacthub.changelog_entries(text, "0.2") == [("fixed", "a b"), ("added", "c")]
    assert artifacthub.changelog_entries(text, "0.1") == [("added", "first")]
    assert artifacthub.changelog_entries(text, "0.3") is None


@pytest.mark.parametrize("text, problem", [
    ("owners:\n  - {name: a, email: a@example.org}\nrepositoryID: not-a-uuid\n",
     "repositoryID 'not-a-uuid' is not the UUID Artifact Hub shows for the repository"),
    ("owners:\n  - {name: a, email: a@example.org}\nowner: x\n", "unknown key 'owner' (known: ignore, owners, repositoryID)"),
    ("owners: []\n", "owners must list at least one {name, email}"),
])
def test_repository_metadata_problems(tmp_path, text, problem):
    path = tmp_path / "artifacthub-repo.yml"
    path.write_text(text)
    assert artifacthub.repo_metadata_problems(path) == [problem]
    path.write_text("repositoryID: 5b3e1b2e-0d4a-4b0e-9a53-3c1f0e9f6a11\n"
                    "owners:\n  - {name: a, email: a@example.org}\n")
    assert artifacthub.repo_metadata_problems(path) == []
