"""canary-release end to end against the fake Kubernetes API, the mesh simulator and a real
Prometheus, in the real istio image: the sample (a 5 % start, then 10, 25, 50 and promotion), and
a bad canary: istio-canary-shift rolls back to where it started, the 5 %, and the finally
istio-rollback puts back what was there before the pipeline."""
from __future__ import annotations

import pytest

from tests.fakes.mesh import Behaviour

from .conftest import FAILED, MISSING, NOT_NEEDED, OK, actions, failed, run_pipeline
from .world import squash

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

PIPELINE = "canary-release"


def test_the_sample_moves_to_its_start_then_promotes(world, expected_results):
    w = world()
    run = run_pipeline(w, PIPELINE, "canary-release")
    assert run.code == 0, run.stderr
    assert run.tasks == {"set-start": OK, "canary": OK, "rollback": NOT_NEEDED}
    assert {k: run.results[k] for k in expected_results(PIPELINE)} == expected_results(PIPELINE)
    assert squash(w.calls()) == [("istio", f"weights {split}") for split in ("95/5", "90/10", "75/25", "50/50", "0/100")]
    assert actions(w) == [("istio-set-weights", "set weights", "changed"),
                          *[("istio-canary-shift", "set weights", "changed")] * 4,
                          ("istio-canary-shift", "promote canary", "ok")]
    assert (w.workspaces["records"] / "report" / "istio-canary-shift.json").exists()


def test_a_bad_canary_goes_back_to_the_weights_before_the_pipeline(world):
    w = world(canary=Behaviour("reviews-v2", error_rate=0.05), rps=600)
    run = run_pipeline(w, PIPELINE, "bad-canary", interval="4s")
    assert run.code == 1
    assert run.condition == failed(completed=3, skipped=0)
    assert run.tasks == {"set-start": OK, "canary": FAILED, "rollback": OK}
    assert run.task("canary")["results"]["final-weights"] == '{"stable":95,"canary":5}'   # its own start
    assert run.task("rollback")["results"] == {"restored-weights": '{"stable":100,"canary":0}', "changed": "true"}
    calls = squash(w.calls())
    assert calls[:2] == [("istio", "weights 95/5"), ("istio", "weights 90/10")]
    assert calls[-2:] == [("istio", "weights 95/5"), ("istio", "weights 100/0")]
    assert actions(w)[-3:] == [("istio-canary-shift", "roll back", "changed"), ("istio-canary-shift", "step", "failed"),
                               ("istio-rollback", "restore weights", "changed")]
    assert w.snapshot() == w.start


def test_without_a_start_a_failed_canary_has_nothing_left_for_finally(world):
    """No start-weights: istio-canary-shift's own roll-back restored everything; the finally task
    is skipped, as Tekton skips it, for the results set-start never produced."""
    w = world(canary=Behaviour("reviews-v2", error_rate=0.05), rps=600)
    run = run_pipeline(w, PIPELINE, "bad-canary-no-start", interval="4s", **{"start-weights": ""})
    assert run.code == 1
    assert run.tasks == {"set-start": ("Skipped", "When Expressions evaluated to false"), "canary": FAILED,
                         "rollback": MISSING}
    assert run.condition == failed(completed=1, skipped=2)
    assert w.snapshot() == w.start
