"""Dashboard warming throughput: 300 tiles whose queries take 100 ms each, warmed at
concurrency 10, against the ideal (300 / 10 × 100 ms = 3 s) and against a sequential run
(concurrency 1), measured side by side in one run.

The fake Looker runs in its own process, as Looker would; the step runs in this one, as
in its container."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interlock import paths

TILES, QUERY_SECONDS, CONCURRENCY = 300, 0.1, 10


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


def _warm_once(concurrency: int, folder: Path) -> tuple[float, float, int]:
    """(seconds of the warming phase, seconds of the whole step, exit code)."""
    from interlock_steps import runtime as rt
    from interlock_steps.looker import refresh

    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.looker", "--scenario", str(_scenario(folder))],
                            cwd=paths.SOURCE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = fake.stdout.readline().strip()
        os.environ.update({"LOOKERSDK_BASE_URL": url, "LOOKERSDK_CLIENT_ID": "bench-id",
                           "LOOKERSDK_CLIENT_SECRET": "bench-secret", "LOOKERSDK_VERIFY_SSL": "false"})
        out, results = folder / f"report-{concurrency}", folder / f"results-{concurrency}"
        out.mkdir()
        start = time.monotonic()
        code = rt.step.run_step(refresh.main, task="looker-refresh", step="bench", params=refresh.PARAMS,
                                argv=["--dashboard-ids", "1", "--concurrency", str(concurrency), "--results-dir",
                                      str(results), "--report-dir", str(out), "--log-level", "warning"],
                                stream=io.StringIO())
        step_seconds = time.monotonic() - start
        report = json.loads((out / "looker-refresh.json").read_text()) if code == 0 else {"seconds": {}}
        return report["seconds"].get("warm", step_seconds), step_seconds, code
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def run() -> dict:
    ideal = TILES / CONCURRENCY * QUERY_SECONDS
    with tempfile.TemporaryDirectory() as tmp:
        parallel, step_parallel, code_p = _warm_once(CONCURRENCY, Path(tmp))
        sequential, _, code_s = _warm_once(1, Path(tmp))
    if code_p or code_s:
        raise SystemExit(f"warming benchmark failed (exit codes {code_p}, {code_s})")
    return {"tiles": TILES, "query_s": QUERY_SECONDS, "concurrency": CONCURRENCY, "ideal_s": round(ideal, 2),
            "wall_s": round(parallel, 2), "vs_ideal": round(parallel / ideal, 2), "step_s": round(step_parallel, 2),
            "sequential_s": round(sequential, 2), "speedup_vs_sequential": round(sequential / parallel, 2)}


def report(r: dict) -> str:
    verdict = "within" if r["vs_ideal"] <= 1.3 else "OVER"
    return (f"looker warming: {r['tiles']} tiles x {r['query_s'] * 1000:.0f} ms at concurrency {r['concurrency']}: "
            f"{r['wall_s']} s vs ideal {r['ideal_s']} s = {r['vs_ideal']}x ({verdict} the 1.3x goal); "
            f"sequential {r['sequential_s']} s, {r['speedup_vs_sequential']}x faster; "
            f"whole step (login, dashboard resolution, warming) {r['step_s']} s")


if __name__ == "__main__":
    print(report(run()))
