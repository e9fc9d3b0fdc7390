"""Task-level tests: the real Task YAML, run by `interlock run` in the real built image,
against the fakes on loopback (`--network host`), asserting on result values."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from interlock.paths import SOURCE
from tests.conftest import INTERLOCK
from tests.fakes.looker import FakeLooker


@dataclass
class TaskRunResult:
    code: int
    outcome: dict
    stderr: str

    @property
    def results(self) -> dict:
        return self.outcome.get("results", {})

    @property
    def condition(self) -> dict:
        return self.outcome.get("condition", {})


@pytest.fixture
def run_task(tmp_path, looker_image):
    """run_task(task, fake, **params) -> TaskRunResult of the real Task YAML in the real image."""
    def run(task: str, fake: FakeLooker, *, workspaces: dict[str, Path] | None = None, **params: str) -> TaskRunResult:
        secret = tmp_path / "looker-credentials"
        secret.mkdir(exist_ok=True)
        (secret / "client_id").write_text(fake.client_id)
        (secret / "client_secret").write_text(fake.client_secret)
        taskrun = {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": f"{task}-test"},
                   "spec": {"taskRef": {"name": task},
                            "params": [{"name": "base-url", "value": fake.url}, {"name": "verify-ssl", "value": "false"},
                                       *({"name": k.replace("_", "-"), "value": v} for k, v in params.items())]}}
        return interlock_run(tmp_path, taskrun, workspaces=workspaces, secrets={"looker-credentials": secret},
                             images={"looker": looker_image})
    return run


def interlock_run(tmp_path: Path, run: dict, *, workspaces: dict[str, Path] | None = None,
                  secrets: dict[str, Path] | None = None, images: dict[str, str] | None = None,
                  timeout: float = 300) -> TaskRunResult:
    """`interlock run` a TaskRun or PipelineRun document on the host network; the outcome as JSON."""
    path = tmp_path / f"{run['kind'].lower()}.yaml"
    path.write_text(yaml.safe_dump(run))
    args = [INTERLOCK, "run", str(path), "-o", "json", "--network", "host"]
    for name, folder in (secrets or {}).items():
        args += ["--secret", f"{name}={folder}"]
    for name, image in (images or {}).items():
        args += ["--image-map", f"localhost/interlock/{name}={image}"]
    for name, folder in (workspaces or {}).items():
        args += ["-w", f"{name}={folder}"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=SOURCE, timeout=timeout)
    return TaskRunResult(proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr)


@pytest.fixture
def looker():
    """The fake Looker, checking every request and answer against the OpenAPI document."""
    with FakeLooker() as fake:
        yield fake
    fake.assert_clean()


@pytest.fixture
def report_folder(tmp_path) -> Path:
    path = tmp_path / "report"
    path.mkdir()
    path.chmod(0o777)  # steps run as uid 65532
    return path
