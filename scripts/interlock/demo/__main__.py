"""python -m interlock.demo [--scenario NAME]: see the package's docstring."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from interlock import catalog, paths

sys.path.insert(0, str(paths.SOURCE))  # the fakes are test fixtures, not part of the package
from interlock.demo import live, timeline  # noqa: E402
from interlock.demo.scenarios import SCENARIOS, Scenario  # noqa: E402

PIPELINE = "ml-feature-release"
RUN = "ml-feature-release-demo"
FOLDER = paths.ROOT / "build" / "demo"
IMAGES = ("looker", "istio", "vertex")
INTERLOCK = str(Path(sys.executable).parent / "interlock")


def build_images(view: live.LiveView) -> None:
    """`interlock images build` of the three step images, one line of progress."""
    started = time.monotonic()
    proc = subprocess.Popen([INTERLOCK, "images", "build", *IMAGES], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    output = []
    for line in proc.stdout:  # type: ignore[union-attr]
        output.append(line)
        if line.startswith("["):
            view.live(view.style.dim(f"building images: {line.split('] ', 1)[-1].strip()[:90]}"))
    if proc.wait() != 0:
        view.close()
        sys.stdout.write("".join(output))
        raise SystemExit(f"building the images failed (exit {proc.returncode})")
    view.say(f"images looker, istio, vertex built in {time.monotonic() - started:.0f}s "
             "(layers are cached: later runs are quicker)", stamp=False)


class Fakes:
    """The simulator, Prometheus and a World, started in a thread while the images build."""

    def __init__(self, scenario: Scenario) -> None:
        from tests.fakes.vertex import JobPlan

        self.options = {"job": JobPlan(pending=0.5, running=2.0), "operation_seconds": 0.5, **scenario.world}
        self.bad_model = scenario.bad_model
        self.error: BaseException | None = None
        self.stack = ExitStack()
        self.thread = threading.Thread(target=self._start, name="demo-fakes", daemon=True)

    def _start(self) -> None:
        from tests.fakes.mesh import MeshSimulator, PrometheusServer
        from tests.pipelines.world import NEW_MODEL, World

        try:
            simulator = self.stack.enter_context(MeshSimulator())
            self.prometheus = self.stack.enter_context(PrometheusServer(
                Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="interlock-demo-prometheus-"))),
                targets=[simulator.address], scrape_interval="250ms"))
            self.world = self.stack.enter_context(World(FOLDER / "world", simulator, self.prometheus, **self.options))
            if self.bad_model:
                self.world.vertex.state.predictors[NEW_MODEL].bias = 1.5
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            self.error = error

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise SystemExit(f"starting the fakes failed: {type(self.error).__name__}: {self.error}")


def run_pipeline(fakes: Fakes, scenario: Scenario, view: live.LiveView) -> tuple[dict, float]:
    """`interlock run` of the sample PipelineRun, shown live; (its outcome, seconds)."""
    from tests.pipelines.world import write_run

    world = fakes.world
    run = world.pipelinerun(PIPELINE, RUN, **{"dashboard-ids": "7,8", **scenario.params})
    file = write_run(FOLDER, run)
    view.say(view.style.bold(f"interlock run {_shown(file)}") + view.style.dim(
        f"  (pipelines/{PIPELINE}/0.1/samples/pipelinerun.yaml, pointed at the fakes)"), stamp=False)
    print(file=view.out)
    command = world.command(PIPELINE, file)
    view.t0 = started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=paths.ROOT)
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    for line in proc.stderr:  # type: ignore[union-attr]
        view.feed(line)
    proc.wait()
    reader.join()
    view.close()
    text = "".join(stdout).strip()
    if not text:
        raise SystemExit(f"interlock run gave no outcome (exit {proc.returncode})")
    return json.loads(text), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interlock.demo", description=__doc__)
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="release",
                        help="release (default), or one thing going wrong")
    scenario = SCENARIOS[parser.parse_args(argv).scenario]
    view = live.LiveView(RUN)
    s = view.style
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    print(s.bold(f"Interlock demo: {PIPELINE}, scenario {scenario.name}"))
    print(f"  {scenario.story}.")
    print(s.dim("  Vertex AI, Istio (with Prometheus) and Looker are local fakes on 127.0.0.1. To take seconds, not an\n"
                "  hour: each canary step is analysed for 3-4 s (the sample says 1m), the training job runs 2 s and\n"
                "  Vertex AI's operations 0.5 s. Everything else is the sample PipelineRun as users run it.\n"))
    fakes = Fakes(scenario)
    fakes.thread.start()
    try:
        build_images(view)
        fakes.wait()
        w = fakes.world
        view.say(f"fakes up: Looker {w.looker.url} · Kubernetes API {w.kube.url} + mesh at {w.mesh.rps:g} req/s + "
                 f"Prometheus {fakes.prometheus.url} · Vertex AI {w.vertex.url}", stamp=False)
        outcome, seconds = run_pipeline(fakes, scenario, view)
        return ending(fakes, scenario, outcome, seconds, view)
    finally:
        fakes.thread.join()
        fakes.stack.close()


def ending(fakes: Fakes, scenario: Scenario, outcome: dict, seconds: float, view: live.LiveView) -> int:
    s, world = view.style, fakes.world
    doc = catalog.find("Pipeline", PIPELINE).doc["spec"]
    order = [t["name"] for t in doc["tasks"] + doc.get("finally", [])]
    condition = outcome["condition"]
    print()
    print(s.bold("Timeline"))
    for line in timeline.render(outcome, order, view, world.audit()):
        print(f"  {line}")
    print()
    ok = condition["status"] == "True"
    verdict = (s.green if ok else s.red)(f"{'Succeeded' if ok else 'Failed'} ({condition['reason']})")
    print(f"{s.bold('PipelineRun')} {outcome['name']}: {verdict} in {seconds:.1f}s"
          + (f" — {condition['message']}" if condition["message"] else ""))
    start, end = world.start, world.snapshot()
    for line in timeline.compare(start, end, s):
        print(line)
    records = _shown(world.workspaces["records"])
    print(s.dim(f"  audit trail: {len(world.audit())} lines in {records}/audit/audit.jsonl; reports in {records}/report/"))
    problems = _problems(world)
    for problem in problems:
        print(s.red(f"  {problem}"))
    as_expected = ok if scenario.name == "release" else (not ok and start == end)
    if scenario.name != "release":
        print((s.green if as_expected else s.red)(
            "  every system is as it began: the roll-backs in finally did their job" if as_expected else
            "  not every system is as it began"))
    if scenario.name == "release" and ok:
        print(s.dim("\n  To watch a roll-back: make demo SCENARIO=bad-canary"))
    return 0 if as_expected and not problems else 1


def _shown(path: Path) -> Path:
    return path.relative_to(paths.ROOT) if path.is_relative_to(paths.ROOT) else path


def _problems(world) -> list[str]:
    """What the fakes saw outside their APIs' documents (they check every exchange)."""
    found = [f"Looker: outside its API: {v.operation} {v.status}: {'; '.join(v.problems[:2])}"
             for v in world.looker.spec_violations]
    found += [f"Vertex AI: outside its API: {v.method}: {'; '.join(v.problems[:2])}"
              for v in [*world.vertex.request_violations, *world.vertex.spec_violations]]
    return found


if __name__ == "__main__":
    sys.exit(main())
