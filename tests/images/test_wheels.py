"""The integration images' wheelhouse is reproducible: the project wheel has the same bytes every
time, so a second `interlock images build` with no input change reuses the install stage (pip
installing every pinned wheel, byte-compiling) from podman's cache and gives the same digest."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest

from interlock.images import provenance, wheels
from interlock.images.spec import BUILD, SPECS
from interlock.paths import SOURCE


def test_the_project_wheel_has_the_same_bytes_every_time(tmp_path):
    installer = wheels.installer_dir()
    first = wheels.project_wheel(tmp_path / "first", installer).read_bytes()
    second = wheels.project_wheel(tmp_path / "second", installer).read_bytes()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as wheel:
        assert {entry.date_time for entry in wheel.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert any(name.startswith("interlock_steps/") for name in wheel.namelist())
        # the repository's README (not an image input) is not in it: editing it changes no image
        metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        assert metadata.rstrip().endswith(wheels.WHEEL_README.rstrip())
        assert (SOURCE / "README.md").read_text().splitlines()[0] not in metadata


@pytest.mark.containers
def test_a_second_build_reuses_the_install_stage_and_gives_the_same_digest():
    if not shutil.which("podman"):
        pytest.fail("podman is not installed: run `make setup`")
    from interlock.podman import podman
    from tests.conftest import INTERLOCK

    def build() -> str:
        out = subprocess.run([INTERLOCK, "images", "build", "looker", "--format", "json"], check=True,
                             capture_output=True, text=True).stdout
        return next(i["digest"] for i in json.loads(out) if i["name"] == "looker")

    first = build()
    # the install stage again, from the wheelhouse prepared anew as a second build prepares it:
    # every step after FROM comes from the cache
    spec = SPECS["looker"]
    wheels.prepare(spec)
    proc = podman("build", "--pull=never", "--timestamp", str(provenance.of(spec.inputs()).epoch),
                  "--file", str(BUILD / "looker" / "Containerfile"), "--build-arg", f"BASE={SPECS['base'].ref}",
                  "--target", "install", str(BUILD / "wheels" / "looker"))
    steps = re.findall(r"^STEP \d+/\d+: (.*)$", proc.stdout, re.MULTILINE)
    assert steps[0].startswith("FROM ") and len(steps) > 3
    assert proc.stdout.count("--> Using cache ") == len(steps) - 1, proc.stdout
    assert build() == first


def test_a_prepared_wheelhouse_is_refilled_without_the_index(monkeypatch):
    spec = SPECS["looker"]
    wheelhouse = wheels.prepare(spec) / "wheels"
    # no index reachable: every wheel the lock pins is already there, hashes checked offline
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "1")
    wheels.prepare(spec)
    # one wheel gone: it has to come from the index, so now the unreachable one is asked and fails
    missing = sorted(wheelhouse.glob("*.whl"))[0]
    moved = missing.rename(missing.with_suffix(".kept"))
    try:
        with pytest.raises(wheels.WheelError, match="pip download failed"):
            wheels.prepare(spec)
    finally:
        moved.rename(missing)
