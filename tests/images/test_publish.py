"""Step images in a real registry: push, read back, pin Task YAML to the pushed digests. Every image
the catalog's steps run is checked, so a new integration is covered without editing this file."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from interlock import oci, paths
from interlock.images.pin import IMAGE_LINE, referenced, yaml_files
from interlock.images.spec import SPECS

pytestmark = pytest.mark.containers


def _catalog_files(root: Path) -> list[Path]:
    return yaml_files([root / "tasks", root / "pipelines"])


# the images the catalog's steps run (looker, istio, vertex, ... as the catalog grows)
STEP_IMAGES = sorted(referenced(_catalog_files(paths.ROOT)) & set(SPECS))


@pytest.fixture(scope="module")
def built() -> dict[str, dict]:
    """{name: `images list` entry} of every step image, built."""
    if not shutil.which("podman"):
        pytest.fail("podman is not installed: run `make setup`")
    from tests.conftest import INTERLOCK
    made = subprocess.run([INTERLOCK, "images", "build", *STEP_IMAGES, "--format", "json"], check=True,
                          capture_output=True, text=True)
    listed = json.loads(subprocess.run([INTERLOCK, "images", "list", "--format", "json"], check=True,
                                       capture_output=True, text=True).stdout)
    # build and list print the same digest for the same image
    assert {i["name"]: i["digest"] for i in json.loads(made.stdout) if i["name"] in STEP_IMAGES} == {
        name: listed[name]["digest"] for name in STEP_IMAGES}
    return {name: listed[name] for name in STEP_IMAGES}


def _step_images(root: Path) -> dict[str, set[str]]:
    """Image name -> the references the catalog's step `image:` lines give it."""
    found: dict[str, set[str]] = {}
    for path in _catalog_files(root):
        for m in IMAGE_LINE.finditer(path.read_text()):
            found.setdefault(m["name"], set()).add(m[0][len(m["lead"]):])
    return found


def test_the_catalog_runs_step_images():
    assert STEP_IMAGES and all(SPECS[name].kind == "wheels" for name in STEP_IMAGES)


def test_push_then_pin_uses_the_registry_digest(local_registry, built, interlock_in, catalog_copy):
    pushed = {p["name"]: p for p in json.loads(interlock_in("images", "push", "--registry", local_registry,
                                                            *STEP_IMAGES, "--format", "json").stdout)}
    assert sorted(pushed) == STEP_IMAGES
    client = oci.client(local_registry)
    for name, p in pushed.items():
        assert p["ref"] == f"{local_registry}/interlock/{name}:{SPECS[name].ref.rsplit(':', 1)[1]}"
        # layers are compressed on push: the registry's digest is not the local one
        assert p["digest"] != built[name]["digest"]
        # read it back: the registry's manifest hashes to the pushed digest and carries our config
        found = oci.manifest(client, p["pinned"])
        assert found is not None and found.digest == p["digest"]
        assert found.data["config"]["digest"] == f"sha256:{built[name]['id']}"

    interlock_in("images", "pin", "--registry", local_registry)
    assert _step_images(catalog_copy) == {name: {p["pinned"]} for name, p in pushed.items()}
    again = interlock_in("images", "pin", "--registry", local_registry, "--check")
    assert "all step images pinned" in again.stdout
    # back to the local digests, the way every test and the demo run them
    interlock_in("images", "pin")
    assert _step_images(catalog_copy) == {name: {b["pinned"]} for name, b in built.items()}


def test_pin_refuses_a_registry_without_the_image(local_registry, built, interlock_in, catalog_copy):
    before = _step_images(catalog_copy)
    proc = interlock_in("images", "pin", "--registry", f"{local_registry}/empty", check=False)
    assert proc.returncode == 1
    for name in STEP_IMAGES:
        assert f"{local_registry}/empty/interlock/{name}:" in proc.stderr
    assert "is not in the registry" in proc.stderr
    assert _step_images(catalog_copy) == before  # nothing half-changed


def test_push_names_an_unreachable_registry(built, interlock_in):
    proc = interlock_in("images", "push", "--registry", "127.0.0.1:1", STEP_IMAGES[0], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: registry 127.0.0.1:1: cannot connect to 127.0.0.1:1 (Connection refused)"
