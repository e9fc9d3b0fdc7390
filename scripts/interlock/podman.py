"""The one place that runs podman, with the configuration these machines need.

Podman reads CONTAINERS_CONF; the project's file sets `default_ulimits = []` (sandboxes that
forbid raising rlimits) and the `runc` runtime (crun fails on hybrid cgroup layouts). A user
who exported their own CONTAINERS_CONF keeps it.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from interlock.paths import PACKAGE

CONF = PACKAGE / "containers.conf"  # the tool's own, shipped in the package


class PodmanError(RuntimeError):
    pass


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("CONTAINERS_CONF", str(CONF))
    return e


def binary() -> str:
    path = shutil.which("podman")
    if not path:
        raise PodmanError("podman is not installed: run `make setup` (apt package podman) first")
    return path


def podman(*args: str, check: bool = True, capture: bool = True, input: str | None = None,
           timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `podman ARGS`; on failure raise PodmanError with the command and its stderr."""
    proc = subprocess.run([binary(), *args], env=env(), text=True, input=input, timeout=timeout,
                          capture_output=capture)
    if check and proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()
        raise PodmanError(f"podman {' '.join(args[:3])} … failed (exit {proc.returncode}): "
                          + (err[-1] if err else "no message"))
    return proc


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


