"""istio-canary-shift in-process against the fake API, the mesh simulator and a real Prometheus:
each scenario asserts the weights the VirtualService actually went through, the results and the
report. Times are shortened (intervals of seconds, scrapes every 250 ms); decisions do not depend
on timing (the simulator's traffic is deterministic), only on counts."""
from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from interlock_steps.istio import canary_shift
from tests.fakes.mesh import Behaviour, Latency, Switch, wait_for

from .objects import NAMESPACE, NAME, weights

pytestmark = pytest.mark.timeout(180)


def history(kube) -> list[tuple[int | None, int | None]]:
    """(stable, canary) after each write of the VirtualService, the seed first."""
    out = []
    for revision in kube.history("virtualservices", NAMESPACE, NAME):
        w = weights(revision.object)
        out.append((w["stable"], w["canary"]))
    return out


def canary(run_step, mesh_made, prometheus_url, *args, **params):
    base = {"stable": "stable", "canary": "canary", "stable-workload": "reviews-v1", "canary-workload": "reviews-v2",
            "metrics-namespace": mesh_made.metrics_namespace, "prometheus-url": prometheus_url,
            "interval": "2s", "check-every": "500ms", "min-requests": "20", "steps": "10,50"}
    base.update({k.replace("_", "-"): v for k, v in params.items()})
    return run_step(canary_shift, *args, report=True, **base)


def test_healthy_canary_is_promoted(run_step, kube, mesh, prometheus):
    made = mesh()
    run = canary(run_step, made, prometheus.url)
    assert run.code == 0, run.log
    assert history(kube) == [(100, 0), (90, 10), (50, 50), (0, 100)]
    assert run.results["decision"] == "promoted"
    assert json.loads(run.results["previous-weights"]) == {"stable": 100, "canary": 0}
    assert json.loads(run.results["final-weights"]) == {"stable": 0, "canary": 100}
    assert run.results["steps-completed"] == "2"
    summary = json.loads(run.results["summary"])
    assert summary["decision"] == "promoted" and summary["errors_p"] > 0.01
    looks = [o for o in run.report["observations"] if "errors_test" in o]
    assert looks and all("canary.requests" in o["queries"] for o in looks)
    assert 'destination_workload="reviews-v2"' in looks[0]["queries"]["canary.requests"]
    assert f'destination_workload_namespace="{made.metrics_namespace}"' in looks[0]["queries"]["stable.errors"]
    assert sum(o["canary"]["requests"] for o in looks) > 0 and run.report["decision"] == "promoted"


def test_erroring_canary_is_rolled_back_to_the_exact_start(run_step, kube, mesh, prometheus):
    made = mesh(canary=Behaviour("reviews-v2", error_rate=0.05), rps=600)
    run = canary(run_step, made, prometheus.url, steps="10,25,50", interval="4s")
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert run.results["decision"] == "rolled-back"
    assert json.loads(run.results["final-weights"]) == {"stable": 100, "canary": 0}
    assert "worse than stable on errors at 10%" in run.error
    last = [o for o in run.report["observations"] if "errors_test" in o][-1]
    assert last["errors_test"]["rejected"] and last["decision"] == "worse on errors"
    assert last["errors_test"]["statistic"] >= last["errors_test"]["threshold"]


def test_slow_canary_is_rolled_back_on_latency(run_step, kube, mesh, prometheus):
    made = mesh(canary=Behaviour("reviews-v2", error_rate=0.001, latency=Latency(median_ms=400)))
    run = canary(run_step, made, prometheus.url)
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert "worse than stable on latency" in run.error
    # the stable's p99 as histogram_quantile reads it (99.9 ms, in the 50-100 bucket), rounded up to a bound
    assert run.report["latency_threshold_ms"] == 100


def test_flapping_canary_is_caught(run_step, kube, mesh, prometheus):
    made = mesh(canary=Behaviour("reviews-v2", error_rate=0.001, flap_seconds=1.0, flap_error_rate=0.2))
    run = canary(run_step, made, prometheus.url, steps="10,25,50")
    assert run.code == 1, run.log
    assert history(kube)[-1] == (100, 0)
    assert run.results["decision"] == "rolled-back"


def test_no_traffic_is_inconclusive_then_rolled_back(run_step, kube, mesh, prometheus):
    made = mesh(rps=0, warm_up=0)
    run = canary(run_step, made, prometheus.url, max_inconclusive="1")
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert "2 inconclusive intervals (max-inconclusive 1)" in run.error and "too little traffic at 10%" in run.error
    assert [o["reason"] for o in run.report["observations"] if o.get("decision") == "inconclusive"][0].startswith(
        "too little traffic at 10% (canary 0, stable 0 requests")


def test_on_inconclusive_fail_holds_the_weights(run_step, kube, mesh, prometheus):
    made = mesh(rps=0, warm_up=0)
    run = canary(run_step, made, prometheus.url, max_inconclusive="0", on_inconclusive="fail")
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10)]  # held where it stopped, by choice
    assert run.results["decision"] == "held"
    assert json.loads(run.results["final-weights"]) == {"stable": 90, "canary": 10}
    assert json.loads(run.results["previous-weights"]) == {"stable": 100, "canary": 0}


def test_prometheus_down_before_the_start_changes_nothing(run_step, kube, mesh, prometheus):
    made = mesh(warm_up=0)
    switch = Switch(prometheus.url)
    switch.mode = "down"
    try:
        run = canary(run_step, made, switch.url)
    finally:
        switch.close()
    assert run.code == 1, run.log
    assert "Prometheus is needed before the first shift" in run.error and "nothing was changed" in run.error
    assert history(kube) == [(100, 0)]
    assert kube.calls_to("patch") == []


def test_prometheus_down_during_the_walk_rolls_back(run_step, kube, mesh, prometheus):
    made = mesh()
    switch = Switch(prometheus.url)
    # take Prometheus away as soon as the canary gets its first traffic
    threading.Thread(target=lambda: wait_for(lambda: len(history(kube)) > 1, 60) and setattr(switch, "mode", "down"),
                     daemon=True).start()
    try:
        run = canary(run_step, made, switch.url, "--max-retries", "0", max_inconclusive="1")
    finally:
        switch.close()
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    no_data = [o for o in run.report["observations"] if "no_data" in o]
    assert no_data and "Prometheus at" in no_data[0]["no_data"]


def test_nan_answers_before_the_start_change_nothing(run_step, kube, mesh, prometheus):
    made = mesh(warm_up=0)
    queries = {"requests": 'sum(istio_requests_total{destination_workload="{{ workload }}"}) * 0 / 0'}
    run = canary(run_step, made, prometheus.url, queries=json.dumps(queries))
    assert run.code == 1, run.log
    assert "counters are NaN (check the queries); nothing was changed" in run.error
    assert history(kube) == [(100, 0)]


def test_empty_custom_check_is_inconclusive(run_step, kube, mesh, prometheus):
    made = mesh()
    checks = [{"name": "never-there", "query": 'sum(nonexistent_metric{namespace="{{ namespace }}"})', "max": 1}]
    run = canary(run_step, made, prometheus.url, checks=json.dumps(checks), max_inconclusive="1")
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    checked = [o["checks"][0] for o in run.report["observations"] if "checks" in o]
    assert checked and checked[0]["value"] is None and checked[0]["ok"] is None
    assert "a custom check had no data at 10%" in run.error


def test_custom_check_out_of_range_rolls_back(run_step, kube, mesh, prometheus):
    made = mesh()
    checks = [{"name": "canary-requests-per-second", "query":
               'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",'
               'destination_workload="{{ canary }}"}[{{ interval }}]))', "max": 0.5}]
    run = canary(run_step, made, prometheus.url, checks=json.dumps(checks))
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert "custom check canary-requests-per-second out of range at 10%" in run.error


def test_sigterm_restores_the_weights(run_step, kube, mesh, prometheus):
    made = mesh()
    def stop_when_shifted():
        if wait_for(lambda: len(history(kube)) > 1, 60):
            os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=stop_when_shifted, daemon=True).start()
    run = canary(run_step, made, prometheus.url, interval="30s")
    assert run.code == 1, run.log
    assert history(kube) == [(100, 0), (90, 10), (100, 0)]
    assert "Cancelled: signal SIGTERM" in run.log
    assert run.results["decision"] == "rolled-back"


def test_concurrent_edits_during_the_walk_survive(run_step, kube, mesh, prometheus):
    made = mesh()
    def edit(vs):
        headers = vs["spec"]["http"][0]["headers"]["request"]["set"]
        headers["x-edits"] = str(int(headers.get("x-edits", "0")) + 1)
    kube.faults.concurrent_write("patch", "virtualservices", times=4, edit=edit)
    run = canary(run_step, made, prometheus.url)
    assert run.code == 0, run.log
    final = kube.get("virtualservices", NAMESPACE, NAME)
    assert final["spec"]["http"][0]["headers"]["request"]["set"]["x-edits"] == "4"
    assert weights(final) == {"stable": 0, "canary": 100}


def test_dry_run_writes_nothing(run_step, kube, mesh, prometheus):
    made = mesh()
    run = canary(run_step, made, prometheus.url, "--dry-run", "true")
    assert run.code == 0, run.log
    assert history(kube) == [(100, 0)]
    assert [c.query.get("dryRun") for c in kube.calls_to("patch")] == ["All"]
    assert run.results["decision"] == "dry-run"
