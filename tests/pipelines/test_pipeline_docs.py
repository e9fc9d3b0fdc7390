"""What users read about the pipelines says what the YAML does: each README shows its sample
PipelineRun as it is, and catalog.yaml lists each pipeline's tasks with the Task and version each
runs (the versions `interlock run` and lint resolve)."""
from __future__ import annotations

import pytest
import yaml

from interlock import catalog, paths

PIPELINES = [r for r in catalog.resources() if r.kind == "Pipeline"]


def test_the_four_example_pipelines_are_in_the_catalog():
    assert sorted(r.name for r in PIPELINES) == ["analytics-release", "canary-release", "ml-feature-release",
                                                 "model-release"]


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda r: r.name)
def test_the_readme_shows_the_sample_pipelinerun_as_it_is(pipeline):
    sample = (pipeline.folder / "samples" / "pipelinerun.yaml").read_text()
    assert f"```yaml\n{sample}```" in pipeline.readme.read_text()
    assert catalog.load_yaml(pipeline.folder / "samples" / "pipelinerun.yaml")["spec"]["pipelineRef"] == {
        "name": pipeline.name}


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda r: r.name)
def test_catalog_lists_the_task_and_version_each_pipeline_task_runs(pipeline):
    entry = next(p for p in yaml.safe_load((paths.ROOT / "catalog.yaml").read_text())["pipelines"]
                 if p["name"] == pipeline.name)
    spec = pipeline.doc["spec"]
    declared = [(t["name"], t["taskRef"]["name"]) for t in spec["tasks"] + spec.get("finally", [])]
    assert [(t["name"], t["task"]) for t in entry["tasks"]] == declared
    for used in entry["tasks"]:
        assert catalog.find("Task", used["task"], used["version"]) is not None
        assert used["version"] == catalog.find("Task", used["task"]).version   # the version a name resolves to
