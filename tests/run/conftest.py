"""Fixtures for the runner's conformance tests: the tools image they run in, and a helper that
runs a TaskRun file from tests/run/taskruns/ and records its log lines. Shared helpers live in
run_support.py (import them from there, not from conftest)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from interlock import podman
from run_support import (FALLBACK, TASKRUNS, TOOLS_ALIAS,  # noqa: F401 (re-exported)
                         build_fallback_image, leftover_containers)


def _tools_ref() -> str | None:
    try:
        from interlock.images.spec import SPECS
    except ImportError:
        return None
    return SPECS["tools"].ref


def _images_command_exists() -> bool:
    try:
        import interlock.images.command  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def tools_image() -> str:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed: the runner's conformance tests need it (make setup)")
    ref = _tools_ref()
    if ref and podman.image_exists(ref):
        return ref
    if ref and _images_command_exists():
        proc = subprocess.run([sys.executable, "-m", "interlock", "images", "build", "tools"],
                              capture_output=True, text=True, env=podman.env())
        if proc.returncode != 0 or not podman.image_exists(ref):
            pytest.fail(f"`interlock images build tools` failed (exit {proc.returncode}): "
                        f"{(proc.stderr or proc.stdout)[-500:]}")
        return ref
    return build_fallback_image()


@pytest.fixture(scope="session")
def root_image(tools_image) -> str:
    """An image without a USER (runs as root), for runAsNonRoot checks."""
    return build_fallback_image()


@pytest.fixture
def run_file(tools_image, tmp_path):
    """run_file(name, **RunOptions fields) -> (TaskRunOutcome, log lines)."""
    from interlock.run.options import RunOptions
    from interlock.run.resolve import load_run
    from interlock.run.taskrun import run_taskrun

    def run(name: str, params: dict | None = None, cancel=None, **fields):
        lines: list[str] = []
        image_map = {TOOLS_ALIAS: tools_image, **fields.pop("image_map", {})}
        options = RunOptions(image_map=image_map, run_dir=fields.pop("run_dir", tmp_path / "runs"),
                             **fields)
        path = TASKRUNS / f"{name}.yaml"
        outcome = run_taskrun(load_run(path), options=options, params_override=params,
                              log=lambda t, s, line: lines.append(f"[{t}/{s}] {line}"),
                              cancel=cancel, where=str(path))
        return outcome, lines
    return run
