"""SIGTERM and SIGINT as an exception, so a step can clean up what it started before it exits.

When Tekton times out or cancels a TaskRun it deletes the pod: the kubelet sends SIGTERM, and
Tekton's entrypoint forwards it to the step's process group (cmd/entrypoint/runner.go,
realRunner.Run), then SIGKILL after the pod's grace period (30 s by default). A step's own
`timeout` is different: the entrypoint kills the step with SIGKILL (exec.CommandContext),
with no chance to clean up; the Tasks therefore leave step timeouts unset.

`Stopped` derives from BaseException so that the libraries' `except Exception` (requests,
api_core's retry loop) let it through; the step catches it where it can act on it.
"""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Stopped(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signal.Signals(signum).name


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise Stopped; the previous handlers come back after."""
    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def shielded() -> Iterator[None]:
    """Within the block (the clean-up itself), another SIGTERM or SIGINT is ignored."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
