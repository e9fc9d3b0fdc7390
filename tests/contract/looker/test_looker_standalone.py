"""`python -m tests.fakes.looker` runs the fake on its own, seeded from a scenario file."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from interlock.paths import SOURCE
from tests.fakes.looker import ScenarioError, load_scenario

SCENARIO = {
    "users": [{"client_id": "ci", "client_secret": "cs", "id": "9"}],
    "queries": [{"id": "1", "model": "m", "view": "v", "fields": ["v.count"], "rows": [{"v.count": 3}]}],
    "looks": [{"id": "2", "title": "Look", "query_id": "1"}],
    "dashboards": [{"id": "3", "title": "Board",
                    "filters": [{"name": "F", "model": "m", "explore": "v", "dimension": "v.day", "default_value": "1 day"}],
                    "elements": [{"title": "Tile", "query_id": "1", "listens": {"F": "v.day"}},
                                 {"title": "Look tile", "look_id": "2"}]}],
    "datagroups": [{"id": "4", "model_name": "m", "name": "g"}],
    "pdts": [{"model": "m", "view": "p", "runtime": 0.01}],
    "scheduled_plans": [{"id": "5", "name": "Plan", "user_id": "9", "dashboard_id": "3"}],
    "projects": [{"id": "proj"}],
    "content_errors": [{"kind": "dashboard", "id": "3", "title": "Board", "message": "Unknown field"}],
}


def test_scenario_file_builds_the_state(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO))
    state = load_scenario(path)
    assert state.users["ci"].id == "9"
    assert [e.type for e in state.dashboards["3"].elements] == ["vis", "vis"]
    assert state.dashboards["3"].filters[0].default_value == "1 day"


@pytest.mark.parametrize(("change", "message"), [
    ({"looks": [{"id": "2", "title": "Look", "query_id": "77"}]}, "look 2: query_id '77' is not defined"),
    ({"users": []}, "defines no users"),
    ({"dashboards": [{"id": "3", "title": "B", "elements": [{"title": "T", "query_id": "1", "listens": {"X": "v.day"}}]}]},
     "listens to unknown filters ['X']"),
    ({"queries": [{"id": "1"}]}, "malformed entry (KeyError: 'model')"),
])
def test_bad_scenarios_name_the_file_and_the_entry(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SCENARIO, **change}))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def _run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.fakes.looker", *args], cwd=SOURCE, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_standalone_server_prints_its_url_and_serves(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO))
    process = _run("--port", "0", "--scenario", str(path), "--fault", "dashboard:429x1:retry=2", "--token-max-calls", "5")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        token = requests.post(f"{url}/api/4.0/login", data={"client_id": "ci", "client_secret": "cs"},
                              timeout=5).json()["access_token"]
        headers = {"Authorization": f"token {token}"}
        limited = requests.get(f"{url}/api/4.0/dashboards/3", headers=headers, timeout=5)
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "2")
        assert requests.get(f"{url}/api/4.0/dashboards/3", headers=headers, timeout=5).json()["title"] == "Board"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert json.loads(process.stdout.read().splitlines()[-1]) == {"calls": 3, "violations": 0, "peak_in_flight": 0}


def test_standalone_rejects_a_bad_fault_clearly() -> None:
    process = _run("--fault", "dashboard:418")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "dashboard:418" in stderr and "Traceback" not in stderr


def test_shipped_sample_scenario_loads() -> None:
    state = load_scenario(SOURCE / "tests" / "fakes" / "looker" / "scenarios" / "minimal.json")
    assert set(state.dashboards) == {"3"} and state.pdt_views[("m", "p")].runtime == 0.01
