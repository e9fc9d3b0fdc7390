"""Dashboard warming throughput: the whole looker-refresh step warming 300 tiles whose queries take
100 ms each at concurrency 10, against the ideal (300 / 10 x 100 ms = 3 s) and a sequential run.

The figure judged is the whole step (login, dashboard resolution and warming), the median of
RUNS runs. It can never be below the physical floor: no more than 10 queries of 100 ms may run at
once, so 300 take at least 3 s; a faster figure means the concurrency cap is broken, and is
refused, not reported as a win. The fake reports how many queries it really had in flight at once.

The fake Looker runs in its own process, as Looker would (without its OpenAPI self-check, which
would compete for the 2 cores with the step it measures); the step runs in this one, as in its
container."""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interlock import paths

TILES, QUERY_SECONDS, CONCURRENCY, RUNS = 300, 0.1, 10, 3
GOAL = 1.3  # the whole step within 1.3x the ideal


class BelowFloor(SystemExit):
    """A figure no correct run can produce."""


def _scenario(folder: Path) -> Path:
    queries = [{"id": str(i), "model": "m", "view": "v", "fields": ["v.count"], "runtime": QUERY_SECONDS}
               for i in range(1, TILES + 1)]
    scenario = {"users": [{"client_id": "bench-id", "client_secret": "bench-secret", "id": "1"}],
                "queries": queries,
                "dashboards": [{"id": "1", "title": "bench",
                                "elements": [{"title": f"tile {q['id']}", "query_id": q["id"]} for q in queries]}]}
    path = folder / "scenario.json"
    path.write_text(json.dumps(scenario))
    return path


def _warm_once(concurrency: int, folder: Path) -> dict:
    """One run of the step against a fresh fake: seconds of the step and of its warm phase, and the
    fake's peak of queries in flight."""
    from interlock_steps import runtime as rt
    from interlock_steps.looker import refresh

    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.looker", "--no-check-spec", "--scenario",
                             str(_scenario(folder))],
                            cwd=paths.SOURCE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = fake.stdout.readline().strip()
        os.environ.update({"LOOKERSDK_BASE_URL": url, "LOOKERSDK_CLIENT_ID": "bench-id",
                           "LOOKERSDK_CLIENT_SECRET": "bench-secret", "LOOKERSDK_VERIFY_SSL": "false"})
        out = Path(tempfile.mkdtemp(dir=folder))
        start = time.monotonic()
        code = rt.step.run_step(refresh.main, task="looker-refresh", step="bench", params=refresh.PARAMS,
                                argv=["--dashboard-ids", "1", "--concurrency", str(concurrency), "--results-dir",
                                      str(out / "results"), "--report-dir", str(out), "--log-level", "warning"],
                                stream=io.StringIO())
        step = time.monotonic() - start
    finally:
        fake.terminate()
        stats = json.loads((fake.communicate(timeout=10)[0].strip().splitlines() or ["{}"])[-1])
    if code != 0:
        raise SystemExit(f"warming benchmark: the step failed (exit code {code})")
    warm = json.loads((out / "looker-refresh.json").read_text())["seconds"]["warm"]
    return {"step_s": step, "warm_s": warm, "peak_in_flight": stats["peak_in_flight"]}


def floor(concurrency: int) -> float:
    """The least time TILES queries of QUERY_SECONDS can take, `concurrency` at a time."""
    return -(-TILES // concurrency) * QUERY_SECONDS


def judge(runs: list[dict], concurrency: int = CONCURRENCY) -> dict:
    """The median figures of several runs, refused when they break what physics allows."""
    step = statistics.median(r["step_s"] for r in runs)
    peak = max(r["peak_in_flight"] for r in runs)
    if peak > concurrency or step < floor(concurrency):
        raise BelowFloor(f"looker warming: INVALID figure: whole step {step:.2f} s against a physical floor of "
                         f"{floor(concurrency):.2f} s, fake's peak {peak} queries in flight for a cap of "
                         f"{concurrency}: the concurrency cap is broken")
    return {"step_s": round(step, 2), "warm_s": round(statistics.median(r["warm_s"] for r in runs), 2),
            "peak_in_flight": peak, "vs_ideal": round(step / floor(concurrency), 2)}


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        parallel = judge([_warm_once(CONCURRENCY, Path(tmp)) for _ in range(RUNS)])
        sequential = judge([_warm_once(1, Path(tmp))], concurrency=1)
    return {"tiles": TILES, "query_s": QUERY_SECONDS, "concurrency": CONCURRENCY, "runs": RUNS,
            "ideal_s": floor(CONCURRENCY), **parallel, "sequential_step_s": sequential["step_s"],
            "speedup_vs_sequential": round(sequential["step_s"] / parallel["step_s"], 2)}


def report(r: dict) -> str:
    verdict = "within" if r["vs_ideal"] <= GOAL else "OVER"
    return (f"looker warming: {r['tiles']} tiles x {r['query_s'] * 1000:.0f} ms at concurrency {r['concurrency']}, "
            f"median of {r['runs']} runs: whole step {r['step_s']} s vs ideal {r['ideal_s']:g} s = {r['vs_ideal']}x "
            f"({verdict} the {GOAL}x goal; warm phase {r['warm_s']} s); fake's peak {r['peak_in_flight']} queries "
            f"in flight; sequential {r['sequential_step_s']} s, {r['speedup_vs_sequential']}x faster")


if __name__ == "__main__":
    print(report(run()))
