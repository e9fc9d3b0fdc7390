"""Start step and sidecar containers with podman, stream their output, stop them on time.

Output is streamed, so this module uses subprocess.Popen with the binary and environment of
interlock.podman (which sets CONTAINERS_CONF); one-shot commands go through interlock.podman.
Secret values reach a container as `-e NAME` with the value in podman's own environment, so
they never appear on a command line or on disk.
"""
from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable

from interlock import podman
from interlock.run.steps import ContainerPlan

LABEL = "interlock.run"
# Runs whose containers may still exist; swept at exit if a run could not clean up itself.
ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


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
    tail: str = ""                # last output lines, for podman's own errors (exit 125-127)


def run_args(plan: ContainerPlan, *, name: str, run_id: str, network: str,
             detach: bool = False) -> list[str]:
    args = ["run", "--rm", "--pull=never", "--name", name, "--label", f"{LABEL}={run_id}",
            "--network", network, "--workdir", plan.workdir]
    if detach:
        args.append("-d")
    if plan.user:
        args += ["--user", plan.user]
    args += plan.security
    for m in plan.mounts:
        args += ["-v", m.arg()]
    for k, v in plan.env.items():
        args += ["-e", f"{k}={v}"]
    for k in plan.secret_env:
        args += ["-e", k]
    if plan.command is not None:
        args += ["--entrypoint", plan.command[0]]
    args.append(plan.image)
    if plan.command is not None:
        args += plan.command[1:]
    args += plan.args
    return args


def _env(plan: ContainerPlan) -> dict[str, str]:
    env = podman.env()
    env.update(plan.secret_env)
    return env


def start_sidecar(plan: ContainerPlan, *, name: str, run_id: str, network: str) -> None:
    proc = subprocess.run([podman.binary(), *run_args(plan, name=name, run_id=run_id,
                                                     network=network, detach=True)],
                          env=_env(plan), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          start_new_session=True)
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        raise podman.PodmanError(f"sidecar {plan.name!r} did not start: "
                                 + (err[-1] if err else f"exit {proc.returncode}"))


def run_step(plan: ContainerPlan, *, name: str, run_id: str, network: str,
             on_line: Callable[[str], None], timeout: float | None, deadline: float | None,
             cancel: threading.Event | None) -> Exit:
    """Run one step to its end; `timeout` is the step's own, `deadline` the TaskRun's (monotonic).

    Output is one stream (stderr folded into stdout, in order) unless the step has
    stdoutConfig/stderrConfig: then each stream is read on its own and copied to its file.
    """
    split = plan.stdout_file is not None or plan.stderr_file is not None
    proc = subprocess.Popen([podman.binary(), *run_args(plan, name=name, run_id=run_id,
                                                        network=network)],
                            env=_env(plan), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if split else subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
                            # a terminal's Ctrl-C must reach only the runner, which then cancels
                            # (podman would forward it into the step and report an exit code)
                            start_new_session=True)
    done = threading.Event()
    tail: list[str] = []
    lock = threading.Lock()

    def pump(stream, copy_to) -> None:
        out = open(copy_to, "w", encoding="utf-8") if copy_to is not None else None
        try:
            for line in stream:
                if out is not None:
                    out.write(line)
                    out.flush()
                line = line.rstrip("\n")
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
                stop(name, proc)
                return Exit(None, cancelled=True)
            if limit is not None and time.monotonic() >= limit:
                stop(name, proc)
                own = timeout is not None and started + timeout <= (deadline or float("inf"))
                return Exit(None, timed_out=own, deadline=not own)
    except BaseException:
        stop(name, proc)
        raise
    reader.join(timeout=5)
    return Exit(proc.returncode, tail="\n".join(tail))


def stop(name: str, proc: subprocess.Popen | None = None) -> None:
    """Remove a container at once (no grace period), then reap its podman process."""
    podman.podman("rm", "-f", "-t", "0", name, check=False)
    if proc is not None:
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


def image_users(images: list[str]) -> tuple[dict[str, str], list[str]]:
    """({image: its configured user}, [images not present locally]); one podman call when all
    are present."""
    unique = sorted(set(images))
    if not unique:
        return {}, []
    proc = podman.podman("image", "inspect", "--format", "{{.Config.User}}", *unique, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode == 0 and len(lines) == len(unique):
        return dict(zip(unique, (line.strip() for line in lines))), []
    users, missing = {}, []
    for image in unique:
        one = podman.podman("image", "inspect", "--format", "{{.Config.User}}", image, check=False)
        if one.returncode == 0:
            users[image] = one.stdout.strip()
        else:
            missing.append(image)
    return users, missing


def non_root_problem(image_user: str, run_as: str | None) -> str | None:
    """The kubelet's refusal for runAsNonRoot, or None when the container may start."""
    user = (run_as or image_user or "0").split(":", 1)[0]
    if not user.isdigit():
        return f"image has non-numeric user ({user}), cannot verify user is non-root"
    if int(user) == 0:
        return "image will run as root"
    return None
