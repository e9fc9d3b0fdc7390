"""Fixtures for the runner's conformance tests: the tools image they run in, and a helper that
runs a TaskRun file from tests/run/taskruns/ and records its log lines."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from interlock import podman

HERE = Path(__file__).parent
TASKRUNS = HERE / "taskruns"
# Test files name their image `interlock-tools`; the fixture maps it to the built image.
TOOLS_ALIAS = "interlock-tools"
FALLBACK = "localhost/interlock/tools-tmp:dev"
FALLBACK_DEBS = ["bash", "dash", "coreutils", "libc6", "libtinfo6", "libacl1", "libattr1",
                 "libgmp10", "libselinux1", "libpcre2-8-0", "libgcc-s1"]


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


def _build_fallback() -> str:
    """bash + coreutils from Debian .debs, imported as an image; used only while the project's
    `interlock images build tools` does not exist yet."""
    if podman.image_exists(FALLBACK):
        return FALLBACK
    with tempfile.TemporaryDirectory() as tmp:
        debs, root = Path(tmp) / "debs", Path(tmp) / "root"
        debs.mkdir()
        root.mkdir()
        subprocess.run(["apt-get", "download", *FALLBACK_DEBS], cwd=debs, check=True,
                       capture_output=True)
        for deb in debs.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        (root / "bin" / "sh").unlink(missing_ok=True)
        (root / "bin" / "sh").symlink_to("dash")
        (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        tar = subprocess.run(["tar", "-C", str(root), "-c", "."], check=True, capture_output=True)
        proc = subprocess.run([podman.binary(), "import", "--change",
                               "ENV PATH=/usr/local/bin:/usr/bin:/bin", "-", FALLBACK],
                              input=tar.stdout, env=podman.env(), capture_output=True)
        if proc.returncode != 0:
            pytest.fail(f"could not import the fallback tools image: {proc.stderr.decode()[-300:]}")
    return FALLBACK


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
    return _build_fallback()


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


def leftover_containers(outcome=None) -> list[str]:
    """Containers still present from one run (other suites may run containers meanwhile)."""
    label = f"label=interlock.run={outcome.run_id}" if outcome is not None else "label=interlock.run"
    proc = podman.podman("ps", "-a", "--filter", label, "--format", "{{.Names}}", check=False)
    return [n for n in proc.stdout.split() if n]
