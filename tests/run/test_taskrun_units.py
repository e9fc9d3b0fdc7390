"""Small pure pieces of the TaskRun runner: durations, stepTemplate merging, image mapping,
host paths of container paths, result typing and the termination-message size."""
from __future__ import annotations

from pathlib import Path

import pytest

from interlock.run import results
from interlock.run.containers import non_root_problem
from interlock.run.durations import format_duration, parse_duration
from interlock.run.errors import InvalidRun
from interlock.run.hostfs import Under
from interlock.run.steps import Mount, host_path, map_image, merge_template


@pytest.mark.parametrize("text, seconds", [("1h", 3600), ("1h30m", 5400), ("90s", 90),
                                           ("500ms", 0.5), ("1m0.5s", 60.5), ("0", None),
                                           ("0h", None), (0, None), ("+1s", 1), (".5s", 0.5)])
def test_parse_duration(text, seconds):
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("text", ["", "10", 10, "1d", "h1", "1h 2m", " 1h", "-1s", "1.s.", "9999999999h"])
def test_parse_duration_rejects_with_the_field(text):
    with pytest.raises(InvalidRun, match=r"^spec.timeout: .* is not a duration"):
        parse_duration(text, "spec.timeout")


def test_format_duration_like_go():
    assert [format_duration(s) for s in (2, 60, 3600, 3725, 0.5)] == \
        ["2s", "1m0s", "1h0m0s", "1h2m5s", "0.5s"]


def test_step_template_merges_env_and_mounts_by_key_and_step_wins():
    template = {"image": "t", "env": [{"name": "A", "value": "t"}, {"name": "B", "value": "t"}],
                "volumeMounts": [{"name": "v", "mountPath": "/m"}], "workingDir": "/t"}
    step = {"name": "s", "env": [{"name": "B", "value": "s"}],
            "volumeMounts": [{"name": "w", "mountPath": "/m"}]}
    merged = merge_template(template, step)
    assert merged["image"] == "t" and merged["workingDir"] == "/t" and merged["name"] == "s"
    assert merged["env"] == [{"name": "A", "value": "t"}, {"name": "B", "value": "s"}]
    assert merged["volumeMounts"] == [{"name": "w", "mountPath": "/m"}]
    assert template["env"][1]["value"] == "t"  # the template itself is not changed


def test_image_map_exact_then_repository():
    m = {"ghcr.io/x/tool:1": "local/a", "ghcr.io/x/other": "local/b"}
    assert map_image("ghcr.io/x/tool:1", m) == "local/a"
    assert map_image("ghcr.io/x/tool:2", m) == "ghcr.io/x/tool:2"
    assert map_image("ghcr.io/x/other:3", m) == "local/b"
    assert map_image("ghcr.io/x/other@sha256:" + "0" * 64, m) == "local/b"
    assert map_image("localhost:5000/other", {"localhost:5000/other": "z"}) == "z"


def test_host_path_uses_the_deepest_mount():
    mounts = [Mount(Path("/run/ws"), "/workspace"), Mount(Path("/run/src"), "/workspace/src")]
    assert host_path(mounts, "/workspace/src/a/b") == Path("/run/src/a/b")
    assert host_path(mounts, "/workspace/x") == Path("/run/ws/x")
    assert host_path(mounts, "/workspacex/y") is None
    assert host_path(mounts, "/etc/passwd") is None


def test_result_types():
    assert results.parse({"name": "s"}, "a\n", "w") == "a\n"
    assert results.parse({"name": "a", "type": "array"}, '["x"]', "w") == ["x"]
    assert results.parse({"name": "o", "properties": {"k": {}}}, '{"k": "v"}', "w") == {"k": "v"}
    with pytest.raises(results.ResultError, match="misses key"):
        results.parse({"name": "o", "type": "object", "properties": {"k": {}}}, "{}", "w")
    with pytest.raises(results.ResultError, match="declared array"):
        results.parse({"name": "a", "type": "array"}, '[1]', "w")


def test_termination_size_counts_task_and_step_results(tmp_path):
    task, step = tmp_path / "t", tmp_path / "s"
    task.mkdir()
    step.mkdir()
    (task / "a").write_text("x" * 100)
    (step / "b").write_text("y" * 50)
    (task / "undeclared").write_text("z" * 10000)
    size = results.termination_size(Under(tmp_path, "t"), Under(tmp_path, "s"), ["a", "missing"],
                                    ["b"])
    assert 150 < size < 250


@pytest.mark.parametrize("image_user, run_as, problem", [
    ("", None, "image will run as root"), ("0", None, "image will run as root"),
    ("65532:65532", None, None), ("root", "1000", None),
    ("nonroot", None, "non-numeric user (nonroot)"), ("65532", "0", "image will run as root"),
])
def test_run_as_non_root_rules(image_user, run_as, problem):
    found = non_root_problem(image_user, run_as)
    assert (found is None) if problem is None else (problem in found)
