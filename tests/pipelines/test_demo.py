"""`make demo` as people see it: the live view of a run's log lines, and the bad-canary scenario
end to end (the fakes, the flagship's sample in the real images, the roll-back shown, every
system back as it began)."""
from __future__ import annotations

import io
import json

import pytest

from interlock.demo.live import LiveView


def log(task: str, step: str, msg: str, **fields) -> str:
    """A step's log line as `interlock run` prints it (the runtime's JSON lines)."""
    return f"[{task}/{step}] " + json.dumps({"msg": msg, "level": fields.pop("level", "info"), "task": fields.pop(
        "of", ""), "step": step, **fields})


def test_the_live_view_follows_the_canary_and_the_warming():
    out = io.StringIO()
    view = LiveView("demo", out=out, tty=False)
    for line in [
        log("canary", "canary-shift", "plan", of="istio-canary-shift", start="stable=100,canary=0", steps=[10, 50],
            latency_threshold_ms=250.0),
        log("canary", "canary-shift", "canary at 10%", of="istio-canary-shift", weight=10),
        log("canary", "canary-shift", "look at 10%: continue", of="istio-canary-shift", canary_requests=9,
            stable_requests=80),
        log("canary", "canary-shift", "look at 10%: continue", of="istio-canary-shift", canary_requests=11,
            stable_requests=95),
        log("canary", "canary-shift", "step 10% passed", of="istio-canary-shift", canary_requests=20,
            stable_requests=175),
        "[demo/pipeline] canary: succeeded",
        log("refresh", "refresh", "query complete", of="looker-refresh", progress="1/2"),
        log("refresh", "refresh", "query complete", of="looker-refresh", progress="2/2"),
        log("refresh", "refresh", "refresh failed", of="looker-refresh", level="error"),
        "[demo/pipeline] refresh: failed (Failed)",
        "[demo/pipeline] deliver: skipped (PipelineRun was stopping)",
        "[refresh/refresh] (interlock) a line of the runner's own",
    ]:
        view.feed(line + "\n")
    view.close()
    shown = out.getvalue()
    assert "▶ canary" in shown and "istio-canary-shift" in shown and "Istio" in shown
    assert "walking the canary through 10 %, 50 %" in shown and "canary → 10 %" in shown
    # off a terminal, a run of looks shows as its last one, then the step's verdict
    assert "look: stable    95 · canary   11 requests → continue" in shown and "stable    80" not in shown
    assert "✓ step 10% passed (canary 20, stable 175 requests)" in shown
    assert "warming dashboards ████████████████████ 2/2 queries" in shown and "1/2" not in shown
    assert "✗ refresh failed" in shown and "– deliver skipped (PipelineRun was stopping)" in shown
    assert view.errors == {"refresh": "refresh failed"} and set(view.started) == {"canary", "refresh"}
    assert "(interlock)" not in shown


@pytest.mark.containers
@pytest.mark.timeout(600)
def test_the_bad_canary_demo_shows_the_roll_back(monkeypatch, tmp_path, capsys, images):
    from interlock.demo import __main__ as demo

    monkeypatch.setattr(demo, "FOLDER", tmp_path / "demo")
    monkeypatch.setattr(demo, "build_images", lambda view: None)   # the session built them
    code = demo.main(["--scenario", "bad-canary"])
    shown = capsys.readouterr().out
    assert code == 0, shown
    assert "canary → 10 %" in shown and "→ worse on errors" in shown
    assert "⟲ weights back to stable=100,canary=0" in shown
    assert "✗ canary failed" in shown and "✓ rollback-model" in shown
    timeline = shown.split("Timeline", 1)[1]
    assert "new version taken off" in timeline and "rolled back after 0 step(s) passed" in timeline
    assert "skipped: not run (a task failed before it)" in timeline
    assert [line.split()[:3] for line in timeline.splitlines() if "as it began" in line][:3] == [
        ["Vertex", "AI", "as"], ["Istio", "as", "it"], ["Looker", "as", "it"]]
    assert "every system is as it began" in shown
