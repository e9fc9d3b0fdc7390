"""`python -m tests.fakes.vertex` and `python -m tests.fakes.google_auth` run on their own (the
example pipelines and a cluster harness start them that way)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from interlock.paths import ROOT
from tests.fakes.vertex import VertexState
from tests.fakes.vertex.__main__ import ScenarioError, load_scenario

SCENARIOS = ROOT / "tests" / "fakes" / "vertex" / "scenarios"


def _start(module: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *args], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def test_both_fakes_serve_a_whole_exchange_standalone():
    auth, auth_url = _start("tests.fakes.google_auth", "--metadata-account", "ci@p.iam.gserviceaccount.com")
    vertex, vertex_url = _start("tests.fakes.vertex", "--scenario", str(SCENARIOS / "minimal.json"),
                                "--fault", "customJobs.create:429x1:retry=2", "--check-spec")
    try:
        token = requests.get(f"{auth_url}/computeMetadata/v1/instance/service-accounts/default/token",
                             headers={"Metadata-Flavor": "Google"}, timeout=5).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        job = {"displayName": "t", "jobSpec": {"workerPoolSpecs": [{"replicaCount": "1", "machineSpec": {
            "machineType": "n1-standard-4"}, "containerSpec": {"imageUri": "img"}}]}}
        url = f"{vertex_url}/v1/projects/p/locations/us-central1/customJobs"
        limited = requests.post(url, json=job, headers=headers, timeout=5)
        assert limited.status_code == 429
        assert limited.json()["error"]["details"][0]["retryDelay"] == "2s"
        created = requests.post(url, json=job, headers=headers, timeout=5)
        assert created.status_code == 200 and created.json()["state"] == "JOB_STATE_PENDING"
        assert requests.get(url, timeout=5).status_code == 401
    finally:
        for process in (auth, vertex):
            process.terminate()
            assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--fault", "customJobs.create:418"], "customJobs.create:418"),
    (["--scenario", "/nonexistent.json"], "/nonexistent.json"),
])
def test_bad_arguments_are_clear_errors(args, message):
    proc = subprocess.run([sys.executable, "-m", "tests.fakes.vertex", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_scenarios_load_and_bad_ones_name_the_problem(tmp_path: Path):
    state = VertexState()
    load_scenario(SCENARIOS / "minimal.json", state)
    assert state.predictors["gs://interlock-models/churn/model"].scale == 2.0
    assert state.operation_plans["deploy"].seconds == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"operation_seconds": {"teleport": 1}}))
    with pytest.raises(ScenarioError, match="unknown kind 'teleport'"):
        load_scenario(bad, VertexState())
