"""istio-canary-shift against Flagger's rule, measured side by side in one run.

The setting is Flagger's documented Istio example (interval 1m, threshold 5, stepWeight 10,
maxWeight 50) at 20 requests per second, the stable answering 0.1 % 5xx; a bad canary answers
5 % 5xx, a healthy one 0.1 %; both have the stable's latency. Our task runs the same steps
(step-weight 10, max-weight 50, interval 1m, check-every 15s) with its defaults (confidence 0.99,
min-requests 100).

1. Simulated analyses (virtual time, random traffic: Poisson requests, binomial errors,
   multinomial latencies over Istio's buckets), ANALYSES healthy and ANALYSES bad canaries, through
   the task's own state machine (canary.walk + judge.Judge) and through Flagger's scheduler rule on
   the same traffic model: every min(interval, 30 s) a tick; if failed checks >= threshold, roll
   back; else check the last minute (success rate >= 99 %, p99 <= 500 ms): a failure adds one
   failed check, a pass advances the weight once per interval (fluxcd/flagger
   pkg/controller/scheduler.go, advanceCanary and runCanary). Reported: false rollbacks of the
   healthy canary and catches of the bad one, with 95 % Wilson intervals, and the time from the
   bad canary's first traffic to traffic restored, in intervals. Flagger's documented rule
   (interval x threshold) is 5 intervals.
2. The real stack at a tenth of the time (1 minute -> 6 s, 20 rps -> 200 rps, so every interval
   holds the same requests): the step in-process against the fake Kubernetes API, the mesh
   simulator and a real Prometheus scraping every 250 ms; time from the VirtualService's shift to
   10 % to its restore, from the fake's write history.
3. The istio image: its size and its cold start to the first API call (median of COLD_STARTS
   `podman run`s; the machine's load average is printed beside it).
"""
from __future__ import annotations

import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from interlock import paths

ANALYSES = 1000
RPS, INTERVAL, CHECK_EVERY = 20.0, 60.0, 15.0
STEPS = (10, 20, 30, 40, 50)
STABLE_ERRORS, BAD_ERRORS = 0.001, 0.05
FLAGGER_THRESHOLD, FLAGGER_MIN_SUCCESS, FLAGGER_MAX_P99, FLAGGER_TICK = 5, 99.0, 500.0, 30.0
SCALE = 10  # real-stack run: time divided, traffic multiplied
REAL_RUNS = 3
COLD_STARTS = 5


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _imports() -> None:
    if str(paths.ROOT) not in sys.path:  # the fakes live in tests/, beside the package
        sys.path.insert(0, str(paths.ROOT))


def _ours(canary_error_rate: float, rng, confidence: float) -> tuple[bool, float | None]:
    """One analysis by the task's state machine: (rolled back, seconds from first traffic to restore)."""
    from interlock_steps.istio.canary import ROLLED_BACK, Plan, walk
    from interlock_steps.istio.judge import Judge
    from tests.fakes.mesh import Behaviour
    from tests.fakes.mesh.virtual import VirtualWorld

    world = VirtualWorld(stable=Behaviour("stable", STABLE_ERRORS), canary=Behaviour("canary", canary_error_rate),
                         rps=RPS, rng=rng)
    world.advance(INTERVAL)  # the stable's traffic before the shift: the latency baseline
    judge = Judge(confidence=confidence, error_tolerance=0.0, latency_quantile=0.99, latency_tolerance=0.5,
                  min_requests=100)
    judge.baseline(world.read().stable)
    outcome = walk(Plan(STEPS, INTERVAL, CHECK_EVERY), judge, world, start=world.read(), log=lambda *a, **k: None)
    rolled_back = outcome.decision == ROLLED_BACK
    return rolled_back, (world.t - world.applied[0][0]) if rolled_back else None


def _flagger(canary_error_rate: float, rng) -> tuple[bool, float | None]:
    """One analysis by Flagger's scheduler rule on the same traffic model."""
    from interlock_steps.istio.statistics import histogram_quantile
    from tests.fakes.mesh import Behaviour
    from tests.fakes.mesh.virtual import VirtualWorld

    world = VirtualWorld(stable=Behaviour("stable", STABLE_ERRORS), canary=Behaviour("canary", canary_error_rate),
                         rps=RPS, rng=rng)
    weight, failed, moved = STEPS[0], 0, 0.0
    world.set_canary(weight)
    history = [(world.t, world.read().canary)]
    while True:
        world.advance(FLAGGER_TICK)
        history.append((world.t, world.read().canary))
        if failed >= FLAGGER_THRESHOLD:
            return True, world.t
        # the [1m] window of Flagger's queries (shorter at the first tick)
        earlier = next((side for t, side in reversed(history) if t <= world.t - INTERVAL), history[0][1])
        window = history[-1][1].minus(earlier)
        success = 100.0 * (1 - window.errors / window.requests) if window.requests else math.nan
        p99 = histogram_quantile(0.99, window.buckets) if window.requests else math.nan
        if not (success >= FLAGGER_MIN_SUCCESS and p99 <= FLAGGER_MAX_P99):
            failed += 1
            continue
        if world.t - moved < INTERVAL:
            continue
        if weight >= STEPS[-1]:
            return False, None
        weight, moved = weight + STEPS[0], world.t
        world.set_canary(weight)


def simulate(analyses: int = ANALYSES, seed: int = 20_26) -> dict:
    import numpy as np

    _imports()
    rng = np.random.default_rng(seed)
    out: dict = {"analyses": analyses, "rps": RPS, "interval_s": INTERVAL, "steps": list(STEPS)}
    for name, judge in (("ours", lambda e: _ours(e, rng, 0.99)), ("ours_0.999", lambda e: _ours(e, rng, 0.999)),
                        ("flagger", lambda e: _flagger(e, rng))):
        healthy = [judge(STABLE_ERRORS)[0] for _ in range(analyses)]
        bad = [judge(BAD_ERRORS) for _ in range(analyses)]
        times = sorted(t / INTERVAL for caught, t in bad if caught and t is not None)
        false_rollbacks, caught = sum(healthy), sum(1 for c, _ in bad if c)
        out[name] = {"false_rollback": false_rollbacks / analyses,
                     "false_rollback_ci": wilson(false_rollbacks, analyses),
                     "caught": caught / analyses, "caught_ci": wilson(caught, analyses),
                     "intervals_to_restore_median": statistics.median(times) if times else None,
                     "intervals_to_restore_p90": times[int(0.9 * (len(times) - 1))] if times else None,
                     "within_one_interval": sum(t <= 1.0 for t in times) / analyses}
    return out


def real_stack(runs: int = REAL_RUNS) -> dict:
    """The step against fake API + simulator + real Prometheus at 1/SCALE of the time."""
    _imports()
    from interlock_steps import runtime as rt
    from interlock_steps.istio import canary_shift
    from tests.fakes.mesh import Behaviour, MeshSimulator, PrometheusServer
    from tests.istio.objects import NAME, NAMESPACE, TOKEN
    from tests.istio.support import add_mesh, seeded_kube

    interval, check = INTERVAL / SCALE, CHECK_EVERY / SCALE
    measured: list[float] = []
    with tempfile.TemporaryDirectory(prefix="interlock-bench-") as tmp, MeshSimulator() as simulator:
        prometheus_dir = Path(tmp) / "prometheus"
        with PrometheusServer(prometheus_dir, targets=[simulator.address], scrape_interval="250ms") as prometheus:
            for run in range(runs):
                with seeded_kube() as kube:
                    mesh = add_mesh(simulator, prometheus, kube.url, rps=RPS * SCALE, warm_up=int(RPS * INTERVAL),
                                    stable=Behaviour("reviews-v1", STABLE_ERRORS),
                                    canary=Behaviour("reviews-v2", BAD_ERRORS))
                    folder = Path(tmp) / f"run-{run}"
                    folder.mkdir()
                    kube.kubeconfig(folder / "kubeconfig", token=TOKEN, namespace=NAMESPACE)
                    argv = ["--namespace", NAMESPACE, "--virtualservice", NAME, "--kubeconfig-dir", str(folder),
                            "--stable-workload", "reviews-v1", "--canary-workload", "reviews-v2",
                            "--metrics-namespace", mesh.metrics_namespace, "--prometheus-url", prometheus.url,
                            "--step-weight", "10", "--max-weight", "50", "--interval", f"{interval}s",
                            "--check-every", f"{check}s", "--results-dir", str(folder), "--log-level", "warning"]
                    log = io.StringIO()
                    code = rt.run_step(canary_shift.main, task="bench", step="canary", params=canary_shift.PARAMS,
                                       argv=argv, environ={}, stream=log)
                    simulator.remove(mesh)
                    writes = kube.history("virtualservices", NAMESPACE, NAME)
                    shifts = [r.at for r in writes if r.object["spec"]["http"][1]["route"][1].get("weight") == 10]
                    restored = writes[-1]
                    if code != 1 or not shifts or restored.object["spec"]["http"][1]["route"][1].get("weight") != 0:
                        raise SystemExit(f"istio benchmark: run {run} did not roll back (exit {code}): "
                                         f"{log.getvalue()[-600:]}")
                    shifted = shifts[0]
                    measured.append((restored.at - shifted) / interval)
    return {"scale": SCALE, "interval_s": interval, "rps": RPS * SCALE, "runs": runs,
            "intervals_to_restore": [round(m, 2) for m in measured], "median": round(statistics.median(measured), 2)}


def image() -> dict:
    from interlock import podman
    from interlock.images.cold_start import cold_start
    from interlock.images.inventory import inventory
    from interlock.images.spec import SPECS

    if not podman.image_exists(SPECS["istio"].ref):
        subprocess.run([sys.executable, "-m", "interlock", "images", "build", "istio"], env=podman.env(),
                       capture_output=True, check=True)
    built = inventory()["istio"]
    starts = [cold_start("istio", built.ref) for _ in range(COLD_STARTS)]
    return {"size_mb": round(built.size / 1e6, 1), "cold_start_s": round(statistics.median(starts), 3),
            "cold_starts_s": [round(s, 3) for s in starts], "load_average": round(os.getloadavg()[0], 1)}


def run() -> dict:
    return {"simulated": simulate(), "real_stack": real_stack(), "image": image()}


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def report(r: dict) -> str:
    s, real, img = r["simulated"], r["real_stack"], r["image"]
    lines = [f"istio canary ({s['analyses']} simulated analyses each, {s['rps']:g} rps, interval 1m, steps "
             f"{','.join(map(str, s['steps']))}; canary 5 % vs stable 0.1 % 5xx):"]
    for name, label in (("ours", "istio-canary-shift (confidence 0.99)"),
                        ("ours_0.999", "istio-canary-shift (confidence 0.999)"),
                        ("flagger", f"Flagger's rule (threshold {FLAGGER_THRESHOLD}, tick {FLAGGER_TICK:g}s)")):
        x = s[name]
        lines.append(
            f"  {label}: false rollback {_pct(x['false_rollback'])} [{_pct(x['false_rollback_ci'][0])}, "
            f"{_pct(x['false_rollback_ci'][1])}], bad caught {_pct(x['caught'])} [{_pct(x['caught_ci'][0])}, "
            f"{_pct(x['caught_ci'][1])}], restored after {x['intervals_to_restore_median']:.2f} intervals "
            f"(median; p90 {x['intervals_to_restore_p90']:.2f}; within 1 interval {_pct(x['within_one_interval'])})")
    ours = s["ours"]["intervals_to_restore_median"]
    lines.append(f"  Flagger as documented (interval x threshold): 5 intervals -> ours {ours:.2f} "
                 f"({5 / ours:.1f}x faster); goal <= 1 interval: {'met' if ours <= 1 else 'NOT met'}; "
                 f"false rollback <= 1 %: {'met' if s['ours']['false_rollback'] <= 0.01 else 'NOT met'}; caught >= 99 %: "
                 f"{'met' if s['ours']['caught'] >= 0.99 else 'NOT met'}")
    lines.append(f"  real stack at 1/{real['scale']} time (interval {real['interval_s']:g}s, {real['rps']:g} rps, real "
                 f"Prometheus): restored after {real['median']} intervals (median of {real['runs']}: "
                 f"{real['intervals_to_restore']})")
    lines.append(f"  istio image {img['size_mb']} MB (goal <= 120: {'met' if img['size_mb'] <= 120 else 'NOT met'}); "
                 f"cold start to the first API call {img['cold_start_s']} s median of {len(img['cold_starts_s'])} "
                 f"{img['cold_starts_s']} (goal <= 0.8: {'met' if img['cold_start_s'] <= 0.8 else 'NOT met'}; "
                 f"load average {img['load_average']})")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
