"""vertex-verify: check an endpoint's predictions against golden ones and its latency against a
budget; on failure, optionally put the traffic back and take the new model off.

1. Golden set: a JSON file from the `golden` workspace, or the instances/expected-predictions
   params (predictions.py). Every param is checked before any call.
2. Correctness: the golden instances are sent (batch-size per call) and each prediction is
   compared with the expected one within the tolerances.
3. Latency: `latency-calls` more calls with the first golden instance; the p95 (nearest rank)
   must be within `latency-budget-ms`.
4. On failure, `on-failure`: `none`; `restore-traffic` (the endpoint's split becomes
   previous-traffic, from vertex-deploy); `undeploy` (that, and deployed-model-id is taken off
   the endpoint in the same call).
5. The report workspace gets every call (kind, latency, serving deployed model, differences).
"""
from __future__ import annotations

import json
from typing import Any

from interlock_steps import runtime as rt
from interlock_steps.runtime.report import REPORT_DIR, write_report

from . import endpoints, predictions
from .client import CONNECTION_PARAMS, Vertex, VertexError, connect
from .waiting import Backoff

ON_FAILURE = ("none", "restore-traffic", "undeploy")
REPORT = "vertex-verify.json"

PARAMS = [
    *CONNECTION_PARAMS,
    rt.param("endpoint", required=True, help="endpoint id or resource name"),
    rt.param("golden-dir", default="", help="bound golden workspace path"),
    rt.param("golden-file", default="golden.json", help="golden file in golden-dir"),
    rt.param("instances", rt.json_value, default=None, help="golden instances (JSON array), instead of a file"),
    rt.param("expected-predictions", rt.json_value, default=None, help="their expected predictions (JSON array)"),
    rt.param("tolerance", float, default=1e-6, help="absolute tolerance for numbers"),
    rt.param("relative-tolerance", float, default=0.0, help="relative tolerance for numbers"),
    rt.param("batch-size", rt.integer, default=10, help="golden instances per predict call"),
    rt.param("latency-calls", rt.integer, default=20, help="predict calls timed for the latency check (0: none)"),
    rt.param("latency-budget-ms", float, default=1000.0, help="p95 latency allowed, in milliseconds"),
    rt.param("on-failure", default="none", help="none, restore-traffic or undeploy"),
    rt.param("previous-traffic", rt.json_value, default=None, help="traffic split to restore (vertex-deploy's result)"),
    rt.param("deployed-model-id", default="", help="the deployed model under test (undone by on-failure=undeploy)"),
    REPORT_DIR,
    rt.param("poll-interval", rt.positive_seconds, default=5.0, help="first wait between polls, in seconds"),
]


def validate(step: rt.Step) -> tuple[list[Any], list[Any], Any, dict[str, int] | None]:
    p = step.params
    if p.on_failure not in ON_FAILURE:
        raise rt.BadInput(f"param 'on-failure' must be one of {', '.join(ON_FAILURE)}, got {p.on_failure!r}",
                          param="on-failure")
    for name, value in (("tolerance", p.tolerance), ("relative-tolerance", p.relative_tolerance),
                        ("latency-calls", p.latency_calls)):
        if value < 0:
            raise rt.BadInput(f"param {name!r} must not be negative, got {value}", param=name)
    if p.batch_size < 1:
        raise rt.BadInput(f"param 'batch-size' must be at least 1, got {p.batch_size}", param="batch-size")
    if p.latency_budget_ms <= 0:
        raise rt.BadInput(f"param 'latency-budget-ms' must be positive, got {p.latency_budget_ms}",
                          param="latency-budget-ms")
    previous = None
    if p.on_failure != "none":
        if not isinstance(p.previous_traffic, dict):
            raise rt.BadInput(f"on-failure {p.on_failure} needs previous-traffic (a JSON object, vertex-deploy's "
                              "result)", param="previous-traffic")
        previous = endpoints.checked({str(k): v for k, v in p.previous_traffic.items()}, "param 'previous-traffic'")
    if p.on_failure == "undeploy" and not p.deployed_model_id:
        raise rt.BadInput("on-failure undeploy needs deployed-model-id (vertex-deploy's result)",
                          param="deployed-model-id")
    instances, expected, parameters = predictions.load(p.golden_dir, p.golden_file, p.instances, p.expected_predictions)
    return instances, expected, parameters, previous


def main(step: rt.Step) -> None:
    p = step.params
    instances, expected, parameters, previous = validate(step)
    vertex = connect(step)
    endpoint = endpoints.get(vertex, endpoints.endpoint_name(p.endpoint, vertex.parent))
    if step.dry_run:
        step.plan("verify endpoint", endpoint.name, golden=len(instances), latency_calls=p.latency_calls)
        step.results.write(passed="", **{"p95-ms": "", "mismatches": "", "rolled-back": "none", "summary": "{}"})
        return
    calls: list[dict[str, Any]] = []
    mismatches = check_golden(vertex, endpoint.name, instances, expected, parameters, calls)
    latencies = [c["ms"] for c in time_calls(vertex, endpoint.name, instances[0], parameters, calls) if c["ok"]]
    p95 = round(predictions.percentile(latencies, 95), 3) if latencies else None
    failed_calls = sum(not c["ok"] for c in calls)
    reasons = []
    if mismatches:
        reasons.append(f"{len(mismatches)} prediction(s) differ from the golden ones")
    if failed_calls:
        reasons.append(f"{failed_calls} predict call(s) failed")
    if p95 is not None and p95 > p.latency_budget_ms:
        reasons.append(f"p95 latency {p95:g} ms is over the budget of {p.latency_budget_ms:g} ms")
    rolled_back = roll_back(vertex, endpoint, previous, Backoff(initial=p.poll_interval)) if reasons else "none"
    served: dict[str, int] = {}
    for c in calls:
        if c.get("deployed_model_id"):
            served[c["deployed_model_id"]] = served.get(c["deployed_model_id"], 0) + 1
    summary = {"golden": len(instances), "mismatches": len(mismatches), "calls": len(calls), "failed_calls": failed_calls,
               "p95_ms": p95, "budget_ms": p.latency_budget_ms, "served_by": served, "rolled_back": rolled_back}
    write_report(p.report_dir, REPORT, {"endpoint": endpoint.name, "summary": summary, "mismatches": mismatches,
                                "reasons": reasons, "calls": calls}, step.log)
    step.results.write(**{"passed": "false" if reasons else "true", "p95-ms": "" if p95 is None else f"{p95:g}",
                          "mismatches": str(len(mismatches)), "rolled-back": rolled_back,
                          "summary": json.dumps(summary, sort_keys=True, separators=(",", ":"))})
    if reasons:
        raise rt.TargetFailed(f"verification of {endpoint.name} failed: {'; '.join(reasons)}"
                              + (f"; rolled back ({rolled_back})" if rolled_back != "none" else ""),
                              target=endpoint.name)
    step.log.info("verified", target=endpoint.name, p95_ms=p95, golden=len(instances))


def predict(vertex: Vertex, endpoint: str, instances: list[Any], parameters: Any, kind: str,
            calls: list[dict[str, Any]]) -> list[Any] | None:
    """One timed predict call, recorded in `calls`; None when it failed."""
    step = vertex.step
    request: dict[str, Any] = {"endpoint": endpoint, "instances": instances}
    if parameters is not None:
        request["parameters"] = parameters
    started = step.clock()
    entry: dict[str, Any] = {"kind": kind, "instances": len(instances)}
    try:
        answer = vertex.call("predict", vertex.prediction.predict, **request)
    except VertexError as error:
        entry.update(ok=False, ms=round((step.clock() - started) * 1000, 3), error=error.message)
        calls.append(entry)
        return None
    entry.update(ok=True, ms=round((step.clock() - started) * 1000, 3), deployed_model_id=answer.deployed_model_id,
                 model_version_id=answer.model_version_id)
    calls.append(entry)
    return [predictions.plain(v) for v in answer.predictions]


def check_golden(vertex: Vertex, endpoint: str, instances: list[Any], expected: list[Any], parameters: Any,
                 calls: list[dict[str, Any]]) -> list[str]:
    p = vertex.step.params
    mismatches: list[str] = []
    for start in range(0, len(instances), p.batch_size):
        batch = instances[start:start + p.batch_size]
        got = predict(vertex, endpoint, batch, parameters, "golden", calls)
        if got is None:
            continue
        if len(got) != len(batch):
            mismatches.append(f"instances {start}-{start + len(batch) - 1}: {len(got)} predictions for {len(batch)}")
            continue
        for offset, (g, w) in enumerate(zip(got, expected[start:start + len(batch)])):
            found = predictions.differences(g, w, atol=p.tolerance, rtol=p.relative_tolerance)
            mismatches += [f"instance {start + offset}: {d}" for d in found]
            calls[-1].setdefault("differences", []).extend(found)
    return mismatches


def time_calls(vertex: Vertex, endpoint: str, instance: Any, parameters: Any,
               calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    timed = []
    for _ in range(vertex.step.params.latency_calls):
        predict(vertex, endpoint, [instance], parameters, "latency", calls)
        timed.append(calls[-1])
    return timed


def roll_back(vertex: Vertex, endpoint: Any, previous: dict[str, int] | None, backoff: Backoff) -> str:
    """Put the traffic back (and take the model off) as on-failure says; what was done."""
    p = vertex.step.params
    if p.on_failure == "none" or previous is None:
        return "none"
    undeploy_id = p.deployed_model_id if p.on_failure == "undeploy" else ""
    return endpoints.restore(vertex, endpoint.name, previous, undeploy_id, backoff)

if __name__ == "__main__":
    rt.run(main, task="vertex-verify", step="verify", params=PARAMS,
           description="Check an endpoint against golden predictions and a latency budget; roll back on failure.")
