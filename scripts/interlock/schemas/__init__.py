"""The project's own JSON Schemas for Tekton resources (one file per kind and apiVersion).

They are committed files, usable without any upstream data. `generate.py` is the developer
tool that derived them once from the upstream CRDs and closes every object, so a misspelt
field is an error; `tests/lint/test_schema_agreement.py` proves they still agree.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (apiVersion, kind) -> schema file in this folder
FILES: dict[tuple[str, str], str] = {
    ("tekton.dev/v1", "Task"): "task.v1.json",
    ("tekton.dev/v1", "Pipeline"): "pipeline.v1.json",
    ("tekton.dev/v1", "TaskRun"): "taskrun.v1.json",
    ("tekton.dev/v1", "PipelineRun"): "pipelinerun.v1.json",
    ("tekton.dev/v1beta1", "StepAction"): "stepaction.v1beta1.json",
}


@cache
def load(api_version: str, kind: str) -> dict:
    """The schema for one kind; KeyError when the project has none for it."""
    return json.loads((HERE / FILES[(api_version, kind)]).read_text(encoding="utf-8"))
