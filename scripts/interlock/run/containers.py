"""Start step and sidecar containers with podman, stream their output, stop them on time.

Output is streamed, so this module uses subprocess.Popen with the binary and environment of
interlock.podman (which sets CONTAINERS_CONF); one-shot commands go through interlock.podman.
Environment variables reach podman through an env-file (see envfile.py): never on a command
line, and nothing in them is interpreted. Every value from the run file is passed in a form
podman cannot read as an option (`--flag=value`, `--` before the image, the entrypoint as a
JSON array).

A container is stopped as Kubernetes stops a pod's containers: SIGTERM, then SIGKILL after a
grace period (terminationGracePeriodSeconds, 30 s by default). With catatonit installed, each
container runs it as PID 1 (`--init`), so the step's own process gets SIGTERM's default action
as under Tekton's entrypoint (PID 1 ignores signals it does not handle).
"""
from __future__ import annotations

import errno
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from interlock import podman
from interlock.run import hostfs
from interlock.run.steps import ContainerPlan

LABEL = "interlock.run"
# Runs whose containers may still exist; swept at exit if a run could not clean up itself.
ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()
# Set on a second Ctrl-C (or SIGTERM): stop containers at once, without a grace period.
KILL_NOW = threading.Event()
MAX_LINE = 64 * 1024  # a longer output line is logged in pieces (memory stays bounded)
START_ERROR = 128     # the exit code Kubernetes reports for a container that could not start


def track(run_id: str) -> None:
    with _ACTIVE_LOCK:
        ACTIVE.add(run_id)


def untrack(run_id: str) -> None:
    with _ACTIVE_LOCK:
        ACTIVE.discard(run_id)


def sweep_active() -> None:
    """Remove the containers of every run still marked active (an atexit last resort)."""
    with _ACTIVE_LOCK:
        ids = sorted(ACTIVE)
    for run_id in ids:
        remove_run(run_id)


@dataclass
class Exit:
    code: int | None
    timed_out: bool = False       # the step's own timeout
    deadline: bool = False        # the TaskRun's timeout
    cancelled: bool = False
    tail: str = ""                # last output lines (masked), for podman's own errors (125-128)


def init_path() -> str | None:
    """catatonit, the PID 1 podman runs with `--init` (Debian package catatonit)."""
    for candidate in ("/usr/libexec/podman/catatonit", shutil.which("catatonit")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def run_args(plan: ContainerPlan, *, name: str, run_id: str, network: str,
             env_file: Path | None = None, environ: Mapping[str, str] | None = None,
             detach: bool = False) -> list[str]:
    """`podman run` arguments. Values from the run file only ever follow `=` of a long option,
    or come after `--`; env comes from `env_file` and, for values no env-file line can hold,
    from podman's environment (`environ`, passed to Popen)."""
    args = ["run", "--rm", "--pull=never", f"--name={name}", f"--label={LABEL}={run_id}",
            f"--network={network}", *([f"--workdir={plan.workdir}"] if plan.workdir else [])]
    if plan.workdir_tmpfs:
        args.append(f"--mount=type=tmpfs,destination={plan.workdir},tmpfs-mode=0755,exec")
    init = init_path()
    if init:
        args += ["--init", f"--init-path={init}"]
    if detach:
        args.append("-d")
    if plan.user:
        args.append(f"--user={plan.user}")
    args += plan.security
    for m in plan.mounts:
        args.append(f"--volume={m.arg()}")
    if env_file is not None:
        args.append(f"--env-file={env_file}")
    for k in environ or {}:
        args.append(f"--env={k}")  # no `=`: podman looks it up in its environment by this name
    if plan.command is not None:
        # the JSON form: podman reads a bare value starting with `[` as JSON, so always give JSON
        args.append("--entrypoint=" + json.dumps([plan.command[0]]))
    args += ["--", plan.image]
    if plan.command is not None:
        args += plan.command[1:]
    args += plan.args
    return args


def _env(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = podman.env()
    env.update(environ or {})
    return env


def start_error(e: OSError) -> str:
    """Why podman itself could not be started, as a pod would say it of its container."""
    if e.errno == errno.E2BIG:
        return ("argument list too long: an argument or env value is over the kernel's limit "
                "(128 KiB per string, as in a pod); pass large values in a file of a workspace")
    return f"podman could not start: {e.strerror or e}"


def start_sidecar(plan: ContainerPlan, *, name: str, run_id: str, network: str,
                  env_file: Path | None = None, environ: Mapping[str, str] | None = None,
                  mask: Callable[[str], str] = str) -> None:
    try:
        proc = subprocess.run([podman.binary(), *run_args(plan, name=name, run_id=run_id,
                                                         network=network, env_file=env_file,
                                                         environ=environ, detach=True)],
                              env=_env(environ), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        raise podman.PodmanError(f"sidecar {plan.name!r} did not start: {start_error(e)}") from None
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        raise podman.PodmanError(f"sidecar {plan.name!r} did not start: "
                                 + mask(err[-1] if err else f"exit {proc.returncode}"))


def _copy(place: hostfs.Under | None, log: Callable[[str], None]):
    """The file a stream is copied to (stdoutConfig/stderrConfig), opened as Tekton's entrypoint
    opens it (parents made, appended to), never through a symlink; None when it cannot be."""
    if place is None:
        return None
    try:
        return hostfs.open_write(place, append=True)
    except OSError as e:
        log(f"(interlock) {place.path}: output not copied: {e.strerror or e}")
        return None


def run_step(plan: ContainerPlan, *, name: str, run_id: str, network: str,
             on_line: Callable[[str], None], timeout: float | None, deadline: float | None,
             cancel: threading.Event | None, env_file: Path | None = None,
             environ: Mapping[str, str] | None = None, mask: Callable[[str], str] = str,
             grace: float = 0.0) -> Exit:
    """Run one step to its end; `timeout` is the step's own, `deadline` the TaskRun's (monotonic).

    Output is one stream (stderr folded into stdout, in order) unless the step has
    stdoutConfig/stderrConfig: then each stream is read on its own and copied to its file.
    Every line is masked before it reaches `on_line` or the tail. The step's own timeout kills
    it at once (Tekton's entrypoint does); the TaskRun's timeout and a cancel stop it with a
    `grace` period, as deleting a pod does.
    """
    split = plan.stdout_file is not None or plan.stderr_file is not None
    try:
        proc = subprocess.Popen([podman.binary(), *run_args(plan, name=name, run_id=run_id,
                                                            network=network, env_file=env_file,
                                                            environ=environ)],
                                env=_env(environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE if split else subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                # a terminal's Ctrl-C must reach only the runner, which then
                                # cancels (podman would forward it into the step)
                                start_new_session=True)
    except OSError as e:
        return Exit(START_ERROR, tail=start_error(e))
    done = threading.Event()
    tail: list[str] = []
    lock = threading.Lock()

    def pump(stream, place: hostfs.Under | None) -> None:
        out = _copy(place, lambda text: on_line(mask(text)))
        try:
            while chunk := stream.readline(MAX_LINE):
                if out is not None:
                    out.write(chunk)
                    out.flush()
                line = mask(chunk.decode("utf-8", errors="replace").rstrip("\n"))
                with lock:
                    tail.append(line)
                    del tail[:-5]
                    on_line(line)
        finally:
            if out is not None:
                out.close()

    pumps = [threading.Thread(target=pump, args=(proc.stdout, plan.stdout_file), daemon=True)]
    if split:
        pumps.append(threading.Thread(target=pump, args=(proc.stderr, plan.stderr_file), daemon=True))

    def reap() -> None:
        for t in pumps:
            t.join()
        proc.wait()
        done.set()

    for t in pumps:
        t.start()
    reader = threading.Thread(target=reap, daemon=True)
    reader.start()
    started = time.monotonic()
    ends = [t for t in (started + timeout if timeout else None, deadline) if t is not None]
    limit = min(ends) if ends else None
    try:
        while not done.is_set():
            wait = 0.2 if limit is None else max(0.0, min(0.2, limit - time.monotonic()))
            if done.wait(wait):
                break
            if cancel is not None and cancel.is_set():
                stop(name, proc, grace)
                return Exit(None, cancelled=True)
            if limit is not None and time.monotonic() >= limit:
                own = timeout is not None and started + timeout <= (deadline or float("inf"))
                stop(name, proc, 0.0 if own else grace)
                return Exit(None, timed_out=own, deadline=not own)
    except BaseException:
        stop(name, proc)
        raise
    reader.join(timeout=5)
    return Exit(proc.returncode, tail="\n".join(tail))


def stop(name: str, proc: subprocess.Popen, grace: float = 0.0) -> None:
    """Stop a step's container as the kubelet stops a pod's: SIGTERM, up to `grace` seconds for
    it to exit (cut short by KILL_NOW: a second Ctrl-C), then SIGKILL; then remove it and reap
    its podman process (`podman run` ends when its container does)."""
    if grace > 0 and not KILL_NOW.is_set():
        podman.podman("kill", "--signal=TERM", name, check=False)
        end = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < end and not KILL_NOW.wait(0.1):
            pass
    podman.podman("rm", "-f", "-t", "0", name, check=False)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def remove_run(run_id: str) -> None:
    """Remove every container left by a run (sidecars, or steps after an interruption)."""
    # --depend: sidecars and steps joined to the first sidecar's network must go first
    podman.podman("rm", "-f", "-t", "0", "--depend", "--filter", f"label={LABEL}={run_id}",
                  check=False)
    untrack(run_id)


def image_configs(images: list[str]) -> tuple[dict[str, dict], list[str]]:
    """({image: its config (User, Entrypoint, Cmd, …)}, [images not present locally]); one
    podman call when all are present."""
    unique = sorted(set(images))
    if not unique:
        return {}, []
    proc = podman.podman("image", "inspect", "--format", "{{json .Config}}", *unique, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode == 0 and len(lines) == len(unique):
        return dict(zip(unique, (json.loads(line) or {} for line in lines))), []
    configs, missing = {}, []
    for image in unique:
        one = podman.podman("image", "inspect", "--format", "{{json .Config}}", image, check=False)
        if one.returncode == 0:
            configs[image] = json.loads(one.stdout.strip() or "{}") or {}
        else:
            missing.append(image)
    return configs, missing


def start_pause(name: str, run_id: str, image: str, network: str) -> None:
    """A container that only holds a network namespace for the others (the pod sandbox's
    pause): catatonit in pause mode, mounted read-only into a local image of the run."""
    init = init_path()
    if init is None:
        raise podman.PodmanError("sidecars need catatonit (Debian package catatonit) to hold "
                                 "the pod's network namespace")
    proc = podman.podman("run", "-d", "--rm", "--pull=never", f"--name={name}",
                         f"--label={LABEL}={run_id}", f"--network={network}",
                         f"--volume={Path(init).resolve()}:/.interlock-pause:ro",
                         '--entrypoint=["/.interlock-pause","-P"]', "--", image, check=False)
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        raise podman.PodmanError(f"the pod's network holder did not start: "
                                 f"{err[-1] if err else proc.returncode}")


def non_root_problem(image_user: str, run_as: str | None) -> str | None:
    """The kubelet's refusal for runAsNonRoot, or None when the container may start."""
    user = (run_as or image_user or "0").split(":", 1)[0]
    if not user.isdigit():
        return f"image has non-numeric user ({user}), cannot verify user is non-root"
    if int(user) == 0:
        return "image will run as root"
    return None
