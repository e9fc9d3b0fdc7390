"""`make bench`: what the local runner costs, measured side by side in one run.

1. Per-step overhead: a TaskRun of STEPS steps that each run `true`, against the same number of
   bare `podman run --rm IMAGE true`, interleaved round by round so that both see the same
   machine load. Goal: under 0.5 s of runner overhead per step.
2. Pipeline parallelism: a 4-task diamond (fetch -> left, right -> join; each task sleeps
   TASK_SLEEP s) at --parallel 2, the median wall time of --rounds runs against 3 x TASK_SLEEP
   (its critical path of sleeps, a floor no correct run beats) and 4 x TASK_SLEEP (in series).

Then every module of `interlock.benchmarks` that has `run() -> dict` and `report(dict) -> str`
(other parts of the catalog benchmark themselves there).

    python -m interlock.bench [--rounds N] [--json] [--only runner|pipeline|others]
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interlock import podman

STEPS = 5
TASK_SLEEP = 1.0
GOAL_STEP_OVERHEAD = 0.5
IMAGE_ALIAS = "bench-tools"


def tools_image() -> str:
    """The tools image the runner's tests use; built first when absent."""
    from interlock.images.spec import SPECS
    ref = SPECS["tools"].ref
    if not podman.image_exists(ref):
        print(f"building {ref} (interlock images build tools) …", file=sys.stderr)
        proc = subprocess.run([sys.executable, "-m", "interlock", "images", "build", "tools"],
                              env=podman.env(), capture_output=True, text=True)
        if proc.returncode != 0 or not podman.image_exists(ref):
            sys.exit(f"bench: could not build {ref}: {(proc.stderr or proc.stdout)[-400:]}")
    return ref


def _options(image: str, run_dir: Path):
    from interlock.run.options import RunOptions
    return RunOptions(image_map={IMAGE_ALIAS: image}, run_dir=run_dir)


def _quiet(_task: str, _step: str, _line: str) -> None:
    pass


def _steps_taskrun(n: int) -> dict:
    return {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "bench-steps"},
            "spec": {"taskSpec": {"steps": [
                {"name": f"s{i}", "image": IMAGE_ALIAS, "command": ["true"]} for i in range(n)]}}}


def _bare(image: str) -> float:
    t0 = time.perf_counter()
    podman.podman("run", "--rm", "--network", "none", image, "true")
    return time.perf_counter() - t0


def runner_overhead(image: str, rounds: int) -> dict:
    """Seconds per step: runner vs bare podman, interleaved; the first round warms caches."""
    from interlock.run.taskrun import run_taskrun
    bare: list[float] = []
    runner: list[float] = []
    single: list[float] = []   # a 1-step TaskRun: the fixed cost of a TaskRun shows whole
    with tempfile.TemporaryDirectory(prefix="interlock-bench-") as tmp:
        options = _options(image, Path(tmp))
        _bare(image)
        run_taskrun(_steps_taskrun(1), options=options, log=_quiet)
        for _ in range(rounds):
            bare.append(sum(_bare(image) for _ in range(STEPS)) / STEPS)
            t0 = time.perf_counter()
            out = run_taskrun(_steps_taskrun(STEPS), options=options, log=_quiet)
            runner.append((time.perf_counter() - t0) / STEPS)
            if not out.succeeded:
                raise SystemExit(f"bench: the benchmark TaskRun failed: {out.reason} {out.message}")
            t0 = time.perf_counter()
            run_taskrun(_steps_taskrun(1), options=options, log=_quiet)
            single.append(time.perf_counter() - t0)
    b, r, one = statistics.median(bare), statistics.median(runner), statistics.median(single)
    return {"steps_per_taskrun": STEPS, "rounds": rounds, "bare_podman_run_s": round(b, 3),
            "runner_per_step_s": round(r, 3), "overhead_per_step_s": round(r - b, 3),
            "ratio": round(r / b, 2), "one_step_taskrun_s": round(one, 3),
            "one_step_overhead_s": round(one - b, 3), "goal_overhead_s": GOAL_STEP_OVERHEAD,
            "meets_goal": r - b < GOAL_STEP_OVERHEAD}


def _diamond() -> dict:
    def task(name: str, after: list[str]) -> dict:
        return {"name": name, "runAfter": after, "taskSpec": {"steps": [
            {"name": "work", "image": IMAGE_ALIAS, "command": ["sleep", str(TASK_SLEEP)]}]}}
    return {"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "bench"},
            "spec": {"pipelineSpec": {"tasks": [
                task("fetch", []), task("left", ["fetch"]), task("right", ["fetch"]),
                task("join", ["left", "right"])]}}}


def pipeline_parallelism(image: str, rounds: int, parallel: int = 2) -> dict:
    """The diamond's wall time, median of `rounds` runs, against what its sleeps alone take:
    3 x TASK_SLEEP with left and right in parallel (the floor: a faster run is a bug), 4 x in series.
    Measured task durations would hide the runner's per-task cost, so they are not the yardstick."""
    from interlock.run.pipelinerun import run_pipelinerun
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="interlock-bench-") as tmp:
        for _ in range(rounds):
            t0 = time.perf_counter()
            out = run_pipelinerun(_diamond(), options=_options(image, Path(tmp)), log=_quiet,
                                  parallel=parallel)
            walls.append(time.perf_counter() - t0)
            if not out.succeeded:
                raise SystemExit(f"bench: the diamond PipelineRun failed: {out.reason} {out.message}")
    wall, ideal, serial = statistics.median(walls), 3 * TASK_SLEEP, 4 * TASK_SLEEP
    if wall < ideal:
        raise SystemExit(f"bench: INVALID diamond figure: {wall:.2f} s is below the {ideal:g} s its sleeps take "
                         "even with left and right in parallel")
    return {"parallel": parallel, "rounds": rounds, "wall_s": round(wall, 3), "ideal_s": ideal,
            "serial_s": serial, "wall_over_ideal": round(wall / ideal, 2), "wall_over_serial": round(wall / serial, 2)}


def others() -> dict[str, tuple[dict, str]]:
    """Benchmarks other parts of the catalog keep in interlock.benchmarks."""
    try:
        package = importlib.import_module("interlock.benchmarks")
    except ImportError:
        return {}
    found: dict[str, tuple[dict, str]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"interlock.benchmarks.{info.name}")
        if callable(getattr(module, "run", None)) and callable(getattr(module, "report", None)):
            result = module.run()
            found[info.name] = (result, module.report(result))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interlock.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the per-step comparison and of the diamond")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    parser.add_argument("--only", choices=["runner", "pipeline", "others"])
    args = parser.parse_args(argv)
    results: dict[str, object] = {}
    lines: list[str] = []
    if args.only in (None, "runner", "pipeline"):
        image = tools_image()
    if args.only in (None, "runner"):
        r = runner_overhead(image, max(1, args.rounds))
        results["runner_overhead"] = r
        lines.append(
            f"runner overhead: {r['runner_per_step_s']:.3f} s per step vs bare podman run "
            f"{r['bare_podman_run_s']:.3f} s -> {r['overhead_per_step_s']:+.3f} s "
            f"(x{r['ratio']}); goal < {GOAL_STEP_OVERHEAD} s: "
            f"{'met' if r['meets_goal'] else 'NOT met'} "
            f"[{STEPS} steps/TaskRun, median of {r['rounds']} rounds]; a 1-step TaskRun takes "
            f"{r['one_step_taskrun_s']:.3f} s ({r['one_step_overhead_s']:+.3f} s)")
    if args.only in (None, "pipeline"):
        p = pipeline_parallelism(image, max(1, args.rounds))
        results["pipeline_parallelism"] = p
        lines.append(
            f"diamond pipeline (4 tasks of sleep {TASK_SLEEP:g}s, --parallel {p['parallel']}, median of "
            f"{p['rounds']} runs): wall {p['wall_s']:.2f} s vs ideal {p['ideal_s']:g} s (3 sleeps, left and right "
            f"in parallel) x{p['wall_over_ideal']}, vs {p['serial_s']:g} s in series x{p['wall_over_serial']}")
    if args.only in (None, "others"):
        for name, (result, text) in others().items():
            results[name] = result
            lines.append(text)
    print(json.dumps(results, indent=2) if args.json else "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
