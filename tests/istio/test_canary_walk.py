"""The canary state machine in virtual time (tests.fakes.mesh.virtual): exact, instant, and the
same decisions the step and the benchmark make."""
from __future__ import annotations

import pytest

from interlock_steps.istio.canary import HELD, PROMOTED, ROLLED_BACK, Plan, walk
from interlock_steps.istio.judge import Judge
from tests.fakes.mesh import Behaviour, Latency
from tests.fakes.mesh.virtual import VirtualWorld

HEALTHY = Behaviour("v1", error_rate=0.001)


def judge(**overrides) -> Judge:
    settings = {"confidence": 0.99, "error_tolerance": 0.0, "latency_quantile": 0.99, "latency_tolerance": 0.5,
                "min_requests": 100} | overrides
    return Judge(**settings)


def run(canary: Behaviour, *, rps: float = 20, plan: Plan | None = None, warm_up: float = 60, **judge_overrides):
    world = VirtualWorld(stable=HEALTHY, canary=canary, rps=rps)
    world.advance(warm_up)  # the stable's traffic before the shift: the latency baseline
    j = judge(**judge_overrides)
    j.baseline(world.read().stable)
    plan = plan or Plan(steps=(10, 20, 30, 40, 50), interval=60, check_every=15)
    outcome = walk(plan, j, world, start=world.read(), log=lambda *a, **k: None)
    return outcome, world, j


def test_healthy_canary_walks_every_step_and_is_promoted():
    outcome, world, _ = run(Behaviour("v2", error_rate=0.001))
    assert outcome.decision == PROMOTED and outcome.steps_completed == 5 and not outcome.failed
    assert [w for _, w in world.applied] == [10, 20, 30, 40, 50, 100]
    assert [t for t, _ in world.applied] == [60, 120, 180, 240, 300, 360]  # one interval per step
    assert sum(1 for o in outcome.observations if "errors_test" in o) == 20  # four looks per interval


def test_erroring_canary_is_caught_within_the_first_interval():
    outcome, world, j = run(Behaviour("v2", error_rate=0.05))
    assert outcome.decision == ROLLED_BACK and outcome.failed and outcome.steps_completed == 0
    assert world.applied == [(60, 10)]
    assert world.t - 60 <= 60 and "worse than stable on errors at 10%" in outcome.reason
    assert j.errors.rejected and not j.latency.rejected


def test_slow_canary_is_caught_on_latency():
    outcome, _, j = run(Behaviour("v2", error_rate=0.001, latency=Latency(median_ms=200)))
    assert outcome.decision == ROLLED_BACK and "on latency" in outcome.reason
    assert j.threshold_ms == 100.0 and j.latency.rejected


def test_a_latency_within_tolerance_passes():
    outcome, _, _ = run(Behaviour("v2", error_rate=0.001, latency=Latency(median_ms=42)))
    assert outcome.decision == PROMOTED


def test_too_little_traffic_is_inconclusive_never_a_pass():
    plan = Plan(steps=(10, 20), interval=60, check_every=15, max_inconclusive=2)
    outcome, world, _ = run(Behaviour("v2"), rps=5, plan=plan)  # 30 canary requests a minute at 10 %
    assert outcome.decision == ROLLED_BACK and outcome.steps_completed == 0
    assert "3 inconclusive intervals (max-inconclusive 2)" in outcome.reason
    assert [o["reason"][:28] for o in outcome.observations if o.get("decision") == "inconclusive"] == \
        ["too little traffic at 10% (c"] * 3
    assert world.applied == [(60, 10)]


def test_an_inconclusive_interval_extends_the_step():
    # 90 canary requests in the first minute at 10 % (< 100), enough after the second
    plan = Plan(steps=(10,), interval=60, check_every=15, max_inconclusive=3)
    outcome, world, _ = run(Behaviour("v2"), rps=15, plan=plan)
    assert outcome.decision == PROMOTED
    assert [o["decision"] for o in outcome.observations if o.get("decision") == "inconclusive"] == ["inconclusive"]
    assert world.applied == [(60, 10), (180, 100)]


def test_on_inconclusive_fail_holds():
    plan = Plan(steps=(10,), interval=60, check_every=15, max_inconclusive=0, on_inconclusive="fail")
    outcome, world, _ = run(Behaviour("v2"), rps=5, plan=plan)
    assert outcome.decision == HELD and outcome.failed and outcome.weight == 10


def test_promote_false_holds_after_the_last_step():
    plan = Plan(steps=(10, 20), interval=60, check_every=15, promote=False)
    outcome, world, _ = run(Behaviour("v2"), plan=plan)
    assert outcome.decision == HELD and not outcome.failed and world.applied == [(60, 10), (120, 20)] and world.t == 180


def test_a_failing_custom_check_rolls_back():
    world = VirtualWorld(stable=HEALTHY, canary=Behaviour("v2"), rps=20)
    world.custom = [{"name": "saturation", "value": 0.95, "max": 0.8, "ok": False}]
    outcome = walk(Plan(steps=(10,), interval=60, check_every=15), judge(), world, start=world.read(),
                   log=lambda *a, **k: None)
    assert outcome.decision == ROLLED_BACK and "custom check saturation out of range at 10%: 0.95" in outcome.reason


def test_the_walk_stops_before_the_deadline():
    world = VirtualWorld(stable=HEALTHY, canary=Behaviour("v2"), rps=20)
    left = iter([1000.0, 1000.0, 10.0])
    outcome = walk(Plan(steps=(10,), interval=60, check_every=15), judge(), world, start=world.read(),
                   log=lambda *a, **k: None, time_left=lambda: next(left))
    assert outcome.decision == ROLLED_BACK and "deadline is near" in outcome.reason and world.t == 30


@pytest.mark.parametrize(("steps", "message"), [((), "steps must increase"), ((10, 5), "steps must increase"),
                                                ((10, 100), "within 1..99"), ((0, 10), "within 1..99")])
def test_plan_validation(steps, message):
    with pytest.raises(ValueError, match=message):
        Plan(steps=steps, interval=60, check_every=15)
