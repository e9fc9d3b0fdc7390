"""Helpers shared by the runner's tests (imported by name: `from run_support import ...`;
importing `conftest` by name picks whichever conftest module was imported last)."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from interlock import podman

HERE = Path(__file__).parent
TASKRUNS = HERE / "taskruns"
# Test files name their image `interlock-tools`; the fixture maps it to the built image.
TOOLS_ALIAS = "interlock-tools"
FALLBACK = "localhost/interlock/tools-tmp:dev"
FALLBACK_DEBS = ["bash", "dash", "coreutils", "libc6", "libtinfo6", "libacl1", "libattr1",
                 "libgmp10", "libselinux1", "libpcre2-8-0", "libgcc-s1"]


def build_fallback_image() -> str:
    """bash + coreutils from Debian .debs, imported as an image that runs as root. The tests use
    it while `interlock images build tools` does not exist, and as a root image on purpose."""
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
            raise RuntimeError(f"could not import the fallback tools image: "
                               f"{proc.stderr.decode()[-300:]}")
    return FALLBACK


def leftover_containers(outcome=None) -> list[str]:
    """Containers still present from one run (other suites may run containers meanwhile)."""
    label = f"label=interlock.run={outcome.run_id}" if outcome is not None else "label=interlock.run"
    proc = podman.podman("ps", "-a", "--filter", label, "--format", "{{.Names}}", check=False)
    return [n for n in proc.stdout.split() if n]
