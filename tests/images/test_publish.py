"""Step images in a real registry: push, read back, pin Task YAML to the pushed digests."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from interlock import oci
from interlock.images.spec import SPECS

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def looker_built() -> dict:
    if not shutil.which("podman"):
        pytest.fail("podman is not installed: run `make setup`")
    from tests.conftest import INTERLOCK
    built = subprocess.run([INTERLOCK, "images", "build", "looker", "--format", "json"], check=True,
                           capture_output=True, text=True)
    listed = subprocess.run([INTERLOCK, "images", "list", "--format", "json"], check=True,
                            capture_output=True, text=True)
    looker = json.loads(listed.stdout)["looker"]
    # build and list print the same digest for the same image
    assert [i["digest"] for i in json.loads(built.stdout) if i["name"] == "looker"] == [looker["digest"]]
    return looker


def _steps_images(root) -> set[str]:
    return {s["image"] for p in (root / "tasks").glob("looker-*/0.1/looker-*.yaml")
            for s in yaml.safe_load(p.read_text())["spec"]["steps"]}


def test_push_then_pin_uses_the_registry_digest(local_registry, looker_built, interlock_in, catalog_copy):
    pushed = json.loads(interlock_in("images", "push", "--registry", local_registry, "looker",
                                     "--format", "json").stdout)
    assert [p["name"] for p in pushed] == ["looker"]
    assert pushed[0]["ref"] == f"{local_registry}/interlock/looker:{SPECS['looker'].ref.rsplit(':', 1)[1]}"
    # layers are compressed on push: the registry's digest is not the local one
    assert pushed[0]["digest"] != looker_built["digest"]

    # read it back: the registry's manifest hashes to the pushed digest and carries our config
    found = oci.manifest(oci.client(local_registry), pushed[0]["pinned"])
    assert found is not None and found.digest == pushed[0]["digest"]
    assert found.data["config"]["digest"] == f"sha256:{looker_built['id']}"

    interlock_in("images", "pin", "--registry", local_registry)
    assert _steps_images(catalog_copy) == {pushed[0]["pinned"]}
    again = interlock_in("images", "pin", "--registry", local_registry, "--check")
    assert "all step images pinned" in again.stdout
    # back to the local digests, the way every test and the demo run them
    interlock_in("images", "pin")
    assert _steps_images(catalog_copy) == {looker_built["pinned"]}


def test_pin_refuses_a_registry_without_the_image(local_registry, looker_built, interlock_in, catalog_copy):
    before = _steps_images(catalog_copy)
    proc = interlock_in("images", "pin", "--registry", f"{local_registry}/empty", check=False)
    assert proc.returncode == 1
    assert f"{local_registry}/empty/interlock/looker:" in proc.stderr and "is not in the registry" in proc.stderr
    assert _steps_images(catalog_copy) == before  # nothing half-changed


def test_push_names_an_unreachable_registry(looker_built, interlock_in):
    proc = interlock_in("images", "push", "--registry", "127.0.0.1:1", "looker", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: registry 127.0.0.1:1: cannot connect to 127.0.0.1:1 (Connection refused)"

