"""Pinning step images in Task YAML: text edits that keep comments and layout, --check, idempotence."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.images import command
from interlock.images.inventory import Built
from interlock.images.pin import rewrite

LOOKER = "sha256:" + "a" * 64
ISTIO = "sha256:" + "b" * 64
OLD = "sha256:" + "0" * 64

TASK = f"""\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: demo  # keep this comment
spec:
  steps:
    - name: refresh
      image: localhost/interlock/looker:0.1.0   # the step image
      args: ["--dry-run"]
    - name: shift
      image: "localhost/interlock/istio@{OLD}"
    - image: 'localhost/interlock/looker@sha256:PLACEHOLDER'
      name: again
    - name: foreign
      image: busybox:1.36
  description: |
    Mentions localhost/interlock/looker:0.1.0 in prose, which is not an image: key.
"""


def test_rewrite_pins_tags_digests_and_placeholders_only_in_image_keys():
    text, changes, unknown = rewrite(TASK, {"looker": LOOKER, "istio": ISTIO})
    assert unknown == []
    assert f"      image: localhost/interlock/looker@{LOOKER}   # the step image\n" in text
    assert f'      image: "localhost/interlock/istio@{ISTIO}"\n' in text
    assert f"    - image: 'localhost/interlock/looker@{LOOKER}'\n" in text
    assert "image: busybox:1.36" in text
    assert "Mentions localhost/interlock/looker:0.1.0 in prose" in text
    assert "# keep this comment" in text
    assert [c.line for c in changes] == [8, 11, 12]
    assert changes[0].old == "localhost/interlock/looker:0.1.0"
    # only the references changed: same number of lines, same other lines
    assert len(text.splitlines()) == len(TASK.splitlines())
    assert [line for line in text.splitlines() if "interlock/" not in line] == \
           [line for line in TASK.splitlines() if "interlock/" not in line]


def test_rewrite_is_idempotent():
    once, _, _ = rewrite(TASK, {"looker": LOOKER, "istio": ISTIO})
    twice, changes, _ = rewrite(once, {"looker": LOOKER, "istio": ISTIO})
    assert twice == once
    assert changes == []


def test_rewrite_reports_images_that_are_not_built():
    text, changes, unknown = rewrite(TASK, {"looker": LOOKER})
    assert unknown == ["istio"]
    assert f"localhost/interlock/istio@{OLD}" in text
    assert {c.name for c in changes} == {"looker"}


def _built(name: str, digest: str) -> Built:
    return Built(name, f"localhost/interlock/{name}:0.1.0", digest, "id", 1, "now", {})


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    task = tmp_path / "tasks" / "demo" / "0.1" / "demo.yaml"
    task.parent.mkdir(parents=True)
    task.write_text(TASK)
    (tmp_path / "pipelines").mkdir()
    monkeypatch.setattr(command, "ROOT", tmp_path)
    monkeypatch.setattr(command, "TASKS", tmp_path / "tasks")
    monkeypatch.setattr(command, "PIPELINES", tmp_path / "pipelines")
    monkeypatch.setattr(command, "inventory", lambda: {
        "base": None, "looker": _built("looker", LOOKER), "istio": _built("istio", ISTIO)})
    return task


def test_pin_check_lists_drift_and_writes_nothing(repo: Path):
    result = CliRunner().invoke(command.images, ["pin", "--check"])
    assert result.exit_code == 1
    assert "tasks/demo/0.1/demo.yaml:8: differs: localhost/interlock/looker:0.1.0 -> " in result.output
    assert repo.read_text() == TASK


def test_pin_writes_then_check_passes(repo: Path):
    first = CliRunner().invoke(command.images, ["pin"])
    assert first.exit_code == 0, first.output
    assert "pinned" in first.output
    assert f"localhost/interlock/looker@{LOOKER}" in repo.read_text()
    check = CliRunner().invoke(command.images, ["pin", "--check"])
    assert check.exit_code == 0, check.output
    assert "all step images pinned" in check.output
    assert CliRunner().invoke(command.images, ["pin"]).exit_code == 0
    assert repo.read_text().count("@sha256:") == 3


def test_pin_fails_clearly_when_an_image_is_not_built(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(command, "inventory", lambda: {"looker": _built("looker", LOOKER),
                                                       "istio": None})
    result = CliRunner().invoke(command.images, ["pin"])
    assert result.exit_code == 1
    assert "image not built: istio" in result.stderr
    assert "Traceback" not in result.stderr


def test_podman_missing_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch):
    from interlock.podman import PodmanError

    def boom():
        raise PodmanError("podman is not installed: run `make setup` (apt package podman) first")

    monkeypatch.setattr(command, "inventory", boom)
    result = CliRunner().invoke(command.images, ["list"])
    assert result.exit_code == 1
    assert result.stderr == ("error: podman is not installed: run `make setup` "
                             "(apt package podman) first\n")


def test_list_json_shows_unbuilt_images_as_null(monkeypatch: pytest.MonkeyPatch):
    import json
    monkeypatch.setattr(command, "inventory", lambda: {"base": _built("base", LOOKER), "tools": None})
    result = CliRunner().invoke(command.images, ["list", "--format", "json"])
    data = json.loads(result.output)
    assert data["tools"] is None
    assert data["base"]["pinned"] == f"localhost/interlock/base@{LOOKER}"
    assert data["base"]["digest"] == LOOKER


def test_pin_check_json_lists_changes_without_writing(repo: Path):
    import json
    result = CliRunner().invoke(command.images, ["pin", "--check", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["written"] is False
    assert [(c["line"], c["image"]) for c in data["changes"]] == [(8, "looker"), (11, "istio"),
                                                                  (12, "looker")]
    assert data["not_built"] == {}
    assert repo.read_text() == TASK
