"""Vertex AI: the step image and how vertex-train waits, measured side by side in one run.

1. Image size: the vertex image against the 200 MB goal (it was 362 MB with the whole
   google-cloud-aiplatform SDK and its dependencies).
2. Cold start (from `podman run` to the step's first request): the vertex image against the goal
   of 1.0 s, interleaved round by round with the looker image's, whose step has no heavy imports,
   so the machine's load shows in both.
3. Waiting: the real vertex-train step, in this process, against the fake Vertex AI on a
   simulated clock (the step's sleeps move it: no real waiting), for jobs of 1 minute, 30 minutes
   and 3 hours: API calls made while the job ran (goal for 30 minutes: at most 60) and how late
   the end was noticed (goal: within max(30 s, 10 % of the running time)), beside a fixed
   10-second poll."""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from interlock import paths, podman

GOAL_MB, BEFORE_MB, GOAL_COLD_S, GOAL_CALLS_30_MIN = 200.0, 362.0, 1.0, 60
DURATIONS = (60.0, 1800.0, 3 * 3600.0)
PENDING = 20.0                     # seconds a job waits for machines before it runs
FIXED_POLL = 10.0


def _image(name: str) -> str:
    from interlock.images.spec import SPECS

    ref = SPECS[name].ref
    if not podman.image_exists(ref):
        print(f"building {ref} (interlock images build {name}) …", file=sys.stderr)
        proc = subprocess.run([sys.executable, "-m", "interlock", "images", "build", name], env=podman.env(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench: could not build {ref}: {(proc.stderr or proc.stdout)[-400:]}")
    return ref


def image_size() -> dict:
    from interlock.images.inventory import inspect
    from interlock.images.spec import SPECS

    _image("vertex")
    built = inspect(SPECS["vertex"])
    assert built is not None
    mb = round(built.size / 1e6, 1)
    return {"vertex_mb": mb, "goal_mb": GOAL_MB, "before_mb": BEFORE_MB, "meets_goal": mb <= GOAL_MB}


def cold_starts(rounds: int = 5) -> dict:
    from interlock.images.cold_start import cold_start

    refs = {name: _image(name) for name in ("vertex", "looker")}
    cold_start("vertex", refs["vertex"])   # the first run warms podman's caches
    seconds: dict[str, list[float]] = {"vertex": [], "looker": []}
    for _ in range(rounds):
        for name, ref in refs.items():
            seconds[name].append(cold_start(name, ref) or 0.0)
    vertex, looker = statistics.median(seconds["vertex"]), statistics.median(seconds["looker"])
    return {"rounds": rounds, "vertex_s": round(vertex, 3), "looker_s": round(looker, 3),
            "vertex_over_looker": round(vertex / looker, 2), "goal_s": GOAL_COLD_S, "meets_goal": vertex <= GOAL_COLD_S}


def _wait_once(duration: float, folder: Path) -> dict:
    """Run vertex-train against a job that runs `duration` seconds of simulated time."""
    if str(paths.ROOT) not in sys.path:
        sys.path.insert(0, str(paths.ROOT))
    from interlock_steps import runtime as rt
    from interlock_steps.vertex import train
    from tests.fakes.clock import ManualClock
    from tests.fakes.google_auth import FakeGoogleAuth
    from tests.fakes.vertex import FakeVertex, JobPlan

    clock = ManualClock(0.0)
    with FakeGoogleAuth() as auth, FakeVertex(clock=clock, sleep=clock.advance) as vertex:
        vertex.state.job_plan = JobPlan(pending=PENDING, running=duration)
        credentials = folder / f"gcp-credentials-{int(duration)}"
        credentials.mkdir()
        (credentials / "token").write_text(auth.subject_token())
        (credentials / "credential-config.json").write_text(
            json.dumps(auth.external_account_config(str(credentials / "token"))))
        results = folder / f"results-{int(duration)}"
        results.mkdir()
        code = rt.step.run_step(train.main, task="vertex-train", step="bench", params=train.PARAMS, stream=io.StringIO(),
                                clock=clock, sleep=clock.advance,
                                argv=["--project", "bench", "--api-endpoint", vertex.url, "--credentials-dir",
                                      str(credentials), "--display-name", "bench", "--image-uri", "img",
                                      "--base-output-directory", "gs://bench/out", "--taskrun-uid", "bench",
                                      "--deadline", str(duration * 2 + 600), "--results-dir", str(results),
                                      "--log-level", "warning"])
        if code != 0:
            raise SystemExit(f"bench: vertex-train exited {code} on a {duration:g} s job")
        polls = [c.at for c in vertex.calls_to("customJobs.get")]
    ended = PENDING + duration                 # the fake's clock starts at 0 when the job is created
    allowed = max(30.0, 0.1 * duration)
    fixed = -(-ended // FIXED_POLL)            # a fixed poll from the start until the end
    return {"job_s": duration, "calls": len(polls), "late_s": round(polls[-1] - ended, 1), "allowed_late_s": allowed,
            "fixed_10s_calls": int(fixed), "meets_goal": polls[-1] - ended <= allowed
            and (duration != 1800 or len(polls) <= GOAL_CALLS_30_MIN)}


def waiting() -> list[dict]:
    keep = {k: os.environ.get(k) for k in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return [_wait_once(duration, Path(tmp)) for duration in DURATIONS]
    finally:   # the step set them for google-auth, in this process
        for key, value in keep.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run() -> dict:
    return {"image": image_size(), "cold_start": cold_starts(), "waiting": waiting()}


def report(r: dict) -> str:
    image, cold = r["image"], r["cold_start"]
    lines = [
        f"vertex image: {image['vertex_mb']} MB (was {image['before_mb']:g} MB; goal <= {image['goal_mb']:g} MB: "
        f"{'met' if image['meets_goal'] else 'NOT met'})",
        f"vertex cold start to the first request: {cold['vertex_s']} s vs looker {cold['looker_s']} s "
        f"(x{cold['vertex_over_looker']}; goal <= {cold['goal_s']:g} s: {'met' if cold['meets_goal'] else 'NOT met'}"
        f", median of {cold['rounds']} interleaved rounds)",
    ]
    for w in r["waiting"]:
        lines.append(f"vertex-train waiting on a {w['job_s'] / 60:g}-minute job (simulated clock): {w['calls']} polls "
                     f"(a fixed 10 s poll: {w['fixed_10s_calls']}), end noticed {w['late_s']:g} s late (allowed "
                     f"{w['allowed_late_s']:g} s){'' if w['meets_goal'] else ' — goal NOT met'}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
