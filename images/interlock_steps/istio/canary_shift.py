"""istio-canary-shift: walk the canary through its steps on an existing VirtualService, judge it
against the stable version on Prometheus after every scrape, and promote it or roll it back.

Before anything changes: the route (exactly the stable and canary destinations), the subsets, the
params, and every PromQL query (run once) are checked, and the weights found are kept as
`previous-weights`. Then canary.walk decides. Every way the walk can end early (a worse canary, too
many inconclusive intervals, an error, the deadline, SIGTERM from a Tekton timeout or
cancellation) restores exactly the weights found at the start, with its own time budget, before the
step exits: traffic is never left half-shifted, except by `on-inconclusive: fail`, which stops
where it is on purpose. Once the walk has begun, results are written in every case, and the report
gets every look.
"""
from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from interlock_steps import runtime as rt
from interlock_steps.runtime.results import termination_message_size

from . import target as target_params
from .canary import ON_INCONCLUSIVE, PROMOTED, ROLLED_BACK, Cancelled, Outcome, Plan, walk
from .judge import Judge, Reading
from .prometheus import QUERIES, Prometheus, PrometheusError, PrometheusUnavailable, parse_queries
from .virtualservice import apply_weights, check_subsets
from .weights import describe, find_route, format_weights, weights_of
from .world import LiveWorld, Target, parse_checks

REPORT_FILE = "istio-canary-shift.json"
ROLLBACK_RESERVE = 60.0  # at most this many seconds are kept back from the deadline to restore the weights
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """Param parser: seconds as `90`, `90s`, `1m30s`, `500ms`, `1h`; positive."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError("expected a duration such as 30s, 1m or 1m30s")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("expected a positive duration")
    return seconds


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError("expected a number between 0 and 1, e.g. 0.99")
    return value


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError("expected a number >= 0")
    return value


def choice(*options: str):
    def parse(text: str) -> str:
        if text.strip() not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text.strip()
    return parse


PARAMS = [
    *target_params.PARAMS,
    rt.param("stable", default="stable", help="key of the stable destination (subset, host or host/subset)"),
    rt.param("canary", default="canary", help="key of the canary destination"),
    rt.param("steps", rt.integer_list, default=[], help="canary weights to walk, e.g. 5,10,25,50 (100: promote)"),
    rt.param("step-weight", rt.integer, default=0, help="instead of steps: walk by this much …"),
    rt.param("max-weight", rt.integer, default=50, help="… up to this weight"),
    rt.param("promote", rt.boolean, default=True, help="after the last step, send all traffic to the canary"),
    rt.param("interval", duration, default=60.0, help="analysis time per step"),
    rt.param("check-every", duration, default=15.0, help="time between looks at the metrics"),
    rt.param("prometheus-url", required=True, help="Prometheus base URL"),
    rt.param("prometheus-tls-verify", rt.boolean, default=True, help="verify Prometheus' TLS certificate"),
    rt.param("prometheus-token", secret=True, help="bearer token for Prometheus (from a Secret)"),
    rt.param("stable-workload", required=True, help="destination_workload of the stable version in Istio's metrics"),
    rt.param("canary-workload", required=True, help="destination_workload of the canary"),
    rt.param("metrics-namespace", default="", help="destination_workload_namespace; empty: the namespace"),
    rt.param("confidence", fraction, default=0.99, help="1 - the false-rollback rate the tests allow"),
    rt.param("error-tolerance", non_negative, default=0.0, help="canary 5xx rate may exceed stable's by this ratio"),
    rt.param("latency-quantile", fraction, default=0.99,
             help="quantile of the stable's latency that marks a slow request"),
    rt.param("latency-tolerance", non_negative, default=0.5,
             help="canary share of slow requests may exceed stable's by this ratio"),
    rt.param("min-requests", rt.integer, default=100, help="requests each side must serve per step"),
    rt.param("max-inconclusive", rt.integer, default=3, help="inconclusive intervals allowed in all"),
    rt.param("on-inconclusive", choice(*ON_INCONCLUSIVE), default="rollback",
             help="past max-inconclusive: rollback or fail"),
    rt.param("queries", parse_queries, default={}, help="JSON object overriding PromQL templates by name"),
    rt.param("checks", parse_checks, default=[], help="JSON array of custom checks {name, query, min, max}"),
    rt.param("verify-subsets", rt.boolean, default=True, help="check both subsets against the DestinationRules"),
    rt.param("report-dir", default="", help="bound report workspace path; empty: no report"),
]


def plan_of(p: Any) -> Plan:
    """The Plan from the params, or BadInput naming the param."""
    if p.steps and p.step_weight:
        raise rt.BadInput("give either 'steps' or 'step-weight' (with 'max-weight'), not both", param="steps")
    if p.step_weight:
        if not 0 < p.step_weight <= p.max_weight <= 100:
            raise rt.BadInput(f"'step-weight' ({p.step_weight}) and 'max-weight' ({p.max_weight}) must satisfy "
                              "0 < step-weight <= max-weight <= 100", param="step-weight")
        steps = list(range(p.step_weight, p.max_weight + 1, p.step_weight))
    else:
        steps = p.steps or [5, 10, 25, 50]
    if 100 in steps:
        if steps[-1] != 100:
            raise rt.BadInput(f"'steps' {steps}: 100 (promotion) can only be the last step", param="steps")
        if not p.promote:
            raise rt.BadInput(f"'steps' {steps} end with 100 but 'promote' is false", param="promote")
        steps = steps[:-1]
    for name, value, low in (("min-requests", p.min_requests, 1), ("max-inconclusive", p.max_inconclusive, 0)):
        if value < low:
            raise rt.BadInput(f"param {name!r} must be at least {low}, got {value}", param=name)
    if p.check_every > p.interval:
        raise rt.BadInput(f"'check-every' ({p.check_every:g}s) must not exceed 'interval' ({p.interval:g}s)",
                          param="check-every")
    try:
        return Plan(tuple(steps), p.interval, p.check_every, p.promote, p.min_requests, p.max_inconclusive,
                    p.on_inconclusive)
    except ValueError as error:
        raise rt.BadInput(f"param 'steps': {error}", param="steps") from None


@contextmanager
def cancellable() -> Iterator[None]:
    """SIGTERM (a Tekton timeout or cancellation deletes the pod) raises Cancelled in the walk, so
    the weights are restored within the pod's grace period."""
    def stop(signum: int, frame: Any) -> None:
        raise Cancelled(f"signal {signal.Signals(signum).name}")

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (an embedding test): nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary_result(outcome: Outcome, plan: Plan, judge: Judge, room: int) -> str:
    """The summary JSON, its reason shortened until it fits the `room` bytes left in the termination message."""
    summary = {"decision": outcome.decision, "reason": outcome.reason, "steps": list(plan.steps),
               "completed": outcome.steps_completed, "ended_at": outcome.weight, "looks": sum(
                   1 for o in outcome.observations if "errors_test" in o),
               "errors_p": round(judge.errors.p_value, 6), "latency_p": round(judge.latency.p_value, 6),
               "latency_threshold_ms": judge.threshold_ms}
    text = json.dumps(summary, separators=(",", ":"))
    while termination_message_size({"summary": text}, started_at=None) > room and summary["reason"]:
        summary["reason"] = summary["reason"][: len(summary["reason"]) // 2] + "…"
        text = json.dumps(summary, separators=(",", ":"))
    return text


def rollback_reserve(step: rt.Step) -> float:
    """Time kept for the rollback: three request timeouts (a read, a patch, a re-read after a 409),
    at most ROLLBACK_RESERVE."""
    return min(ROLLBACK_RESERVE, 3 * step.policy.timeout)


def main(step: rt.Step) -> None:
    p = step.params
    plan = plan_of(p)
    judge = Judge(confidence=p.confidence, error_tolerance=p.error_tolerance, latency_quantile=p.latency_quantile,
                  latency_tolerance=p.latency_tolerance, min_requests=p.min_requests)
    api = target_params.connect(step)
    tgt = Target(p.virtualservice, p.route, p.stable, p.canary)
    vs = api.virtual_service(tgt.name)
    route = find_route(vs, tgt.route, [tgt.stable, tgt.canary])
    if p.verify_subsets:
        check_subsets(vs, route, api.destination_rules())
    start = weights_of(vs, route)
    world = live_world(step, api, tgt)
    first = first_reading(step, world, judge)
    step.log.info("plan", start=describe(start), steps=list(plan.steps), promote=plan.promote, interval_s=plan.interval,
                  latency_threshold_ms=judge.threshold_ms, stable_requests_before=first.stable.requests)
    if step.dry_run:
        world.set_canary(plan.steps[0])  # server-side dry run of the first shift
        for weight in plan.steps:
            step.plan("shift canary", target_params.label(step), weight=weight, then=f"analyse {plan.interval:g}s")
        step.results.write(**{"decision": "dry-run", "previous-weights": format_weights(start),
                              "final-weights": format_weights(start), "steps-completed": "0",
                              "summary": json.dumps({"dry_run": True, "steps": list(plan.steps)})})
        return
    report: dict[str, Any] = {"virtualservice": f"{p.namespace}/{p.virtualservice}", "route": route.label,
                              "previous_weights": start, "plan": plan.__dict__ | {"steps": list(plan.steps)},
                              "confidence": p.confidence, "latency_threshold_ms": judge.threshold_ms,
                              "observations": []}

    def observe(entry: dict[str, Any]) -> None:
        step.log.info(f"look at {entry.get('weight')}%: {entry.get('decision') or 'no data'}",
                      **{k: entry[k] for k in ("no_data", "reason") if k in entry},
                      **{f"{side}_requests": entry[side]["requests"] for side in ("canary", "stable") if side in entry})
        report["observations"].append(entry)
        rt.write_report(p.report_dir, REPORT_FILE, report, step.log, step.redactor, quiet=True)

    outcome: Outcome | None = None
    failure: BaseException | None = None
    try:
        with cancellable():
            outcome = walk(plan, judge, world, start=first, log=step.log.info, observe=observe,
                           time_left=lambda: step.deadline.remaining() - rollback_reserve(step))
    except BaseException as error:  # noqa: BLE001 - whatever stops the walk, the weights go back first
        failure = error
        outcome = Outcome(ROLLED_BACK, f"{type(error).__name__}: {error}", 0, 0, True, report["observations"])
    rollback_error: Exception | None = None
    final: dict[str, Any] = tgt.weights(outcome.weight)
    if outcome.decision == ROLLED_BACK:
        try:
            final = restore(step, tgt, start, why=outcome.reason)
        except Exception as error:  # noqa: BLE001 - results and report are still written, then this is raised
            rollback_error, final = error, {}
    report.update(decision=outcome.decision, reason=outcome.reason, final_weights=final)
    rt.write_report(p.report_dir, REPORT_FILE, report, step.log, step.redactor)
    results = {"decision": outcome.decision, "previous-weights": format_weights(start),
               "final-weights": format_weights(final), "steps-completed": str(outcome.steps_completed)}
    room = rt.TERMINATION_MESSAGE_LIMIT - termination_message_size(results) - 64
    step.results.write(**results, summary=summary_result(outcome, plan, judge, room))
    for error in (rollback_error, failure):
        if error is not None:
            raise error
    if outcome.failed:
        raise rt.TargetFailed(f"canary {outcome.decision}: {outcome.reason}", decision=outcome.decision)
    step.record(f"{'promote' if outcome.decision == PROMOTED else 'hold'} canary", target_params.label(step),
                weights=describe(final), reason=outcome.reason)


def live_world(step: rt.Step, api: Any, tgt: Target) -> LiveWorld:
    """The walk's world: this VirtualService, and Prometheus through the runtime's retrying session."""
    p = step.params
    session = step.requests_session(idempotent=True)  # instant queries change nothing: POST is safe to repeat
    session.verify = p.prometheus_tls_verify
    prometheus = Prometheus(session, p.prometheus_url, timeout=step.policy.timeout, deadline=step.deadline,
                            token=p.prometheus_token)
    placeholders = {"namespace": p.metrics_namespace or p.namespace, "canary": p.canary_workload,
                    "stable": p.stable_workload, "interval": f"{p.interval:g}s"}
    return LiveWorld(api, tgt, prometheus, {**QUERIES, **p.queries}, placeholders,
                     {"canary": p.canary_workload, "stable": p.stable_workload}, p.checks,
                     record=step.record, plan=step.plan, log=step.log.info, sleep=step.sleep, dry_run=step.dry_run)


def first_reading(step: rt.Step, world: LiveWorld, judge: Judge) -> Reading:
    """Every counter before the first shift (every query runs once, so a bad one fails now, with
    nothing changed), and the latency threshold from the stable's last interval."""
    now = time.time()
    try:
        first = world.read_at(now)
        judge.baseline(first.stable.minus(world.side("stable", now - step.params.interval)))
    except PrometheusUnavailable as error:
        raise rt.TargetFailed(f"Prometheus is needed before the first shift: {error.message}; nothing was changed",
                              target=step.params.prometheus_url) from None
    except PrometheusError as error:
        raise rt.BadInput(f"a query does not run: {error.message}; nothing was changed", param="queries") from None
    return first


def restore(step: rt.Step, tgt: Target, start: dict[str, Any], *, why: str) -> dict[str, Any]:
    """Put the start weights back, with a deadline of its own (the step's may be spent)."""
    step.log.warning("rolling back: restoring the weights found at the start", reason=why, weights=describe(start))
    api = target_params.connect(step, deadline=rt.Deadline(rollback_reserve(step)))
    try:
        applied = apply_weights(api, tgt.name, tgt.route, [tgt.stable, tgt.canary], start, log=step.log.info)
    except Exception as error:
        step.log.error("ROLLBACK FAILED: traffic may still be shifted; restore previous-weights with istio-rollback",
                       error=str(error), weights=describe(start))
        raise
    step.record("roll back", f"virtualservice/{api.namespace}/{tgt.name}",
                "changed" if applied.changed else "unchanged", weights=describe(applied.weights), reason=why)
    return applied.weights


if __name__ == "__main__":
    rt.run(main, task="istio-canary-shift", step="canary-shift", params=PARAMS,
           description="Shift traffic to a canary step by step on Istio, judged on Prometheus metrics.")
