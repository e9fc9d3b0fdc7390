"""Bundles in a real registry (Debian's distribution registry on loopback): push, read back with
oras and with skopeo, verify, record in catalog.yaml; broken bundles pushed the same way are caught."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from interlock import catalog, oci
from interlock.bundles import contract
from interlock.bundles.build import assemble, build, tar_gz, write_layout
from interlock.bundles.publish import reference, upload, verify
from tests.conftest import git

TASK = catalog.find("Task", "looker-refresh")


def _entries(catalog_copy) -> list[dict]:
    data = yaml.safe_load((catalog_copy / "catalog.yaml").read_text())
    return [entry for folder in catalog.KIND_FOLDERS.values() for entry in data.get(folder) or []]


def _bundle_refs(catalog_copy) -> dict[str, str]:
    return {e["name"]: {p["name"]: p["value"] for p in e["ref"]["bundle"]["params"]}["bundle"]
            for e in _entries(catalog_copy) if "bundle" in e["ref"]}


def test_push_verify_and_record(local_registry, interlock_in, catalog_copy):
    assert _bundle_refs(catalog_copy) == {}  # nothing published yet: no bundle references
    everything = [(e["name"], e["version"], e["path"].split("/")[0]) for e in _entries(catalog_copy)]
    built = json.loads(interlock_in("bundle", "build", "--format", "json").stdout)
    pushed = json.loads(interlock_in("bundle", "push", "--registry", local_registry, "--format", "json").stdout)
    # one bundle per Task and Pipeline version of the catalog, at <registry>/interlock/<folder>/<name>:<version>
    assert sorted(p["bundle"].split("@sha256:")[0] for p in pushed) == sorted(
        f"{local_registry}/interlock/{folder}/{name}:{version}" for name, version, folder in everything)
    # the registry keeps the manifest's bytes: the pushed digest is the built one
    assert [p["bundle"].rsplit("@", 1)[1] for p in pushed] == [b["digest"] for b in built]

    # catalog.yaml records them, ready for the bundles resolver; index --check agrees
    assert _bundle_refs(catalog_copy) == {p["name"]: p["bundle"] for p in pushed}
    interlock_in("index", "--check")
    verified = interlock_in("bundle", "verify")
    assert verified.stdout.count("ok  ") == len(everything)

    # a second build, and a fresh clone of the same commit from another path, give the same digests
    assert json.loads(interlock_in("bundle", "build", "--format", "json").stdout) == built
    git(catalog_copy, "add", "catalog.yaml")
    git(catalog_copy, "commit", "-q", "-m", "record bundles")
    interlock_in("index", "--check")  # committing catalog.yaml moves no bundle digest

    # an edit after the push: verify names the file, index drops the stale reference
    path = catalog_copy / "tasks/looker-validate/0.1/looker-validate.yaml"
    path.write_text(path.read_text().replace("Looker API base URL", "The Looker API base URL", 1))
    failed = interlock_in("bundle", "verify", check=False)
    assert failed.returncode == 1
    assert "the task layer is not tasks/looker-validate/0.1/looker-validate.yaml as it is in the repository" \
        in failed.stderr
    stale = interlock_in("index", "--check", check=False)
    assert stale.returncode == 1 and "task looker-validate 0.1" in stale.stderr
    refused = interlock_in("bundle", "push", "--registry", local_registry, "looker-validate", check=False)
    assert refused.returncode == 1 and "has uncommitted changes" in refused.stderr
    interlock_in("index")
    assert set(_bundle_refs(catalog_copy)) == {name for name, _, _ in everything} - {"looker-validate"}


def test_another_oci_client_reads_the_bundle(local_registry, tmp_path):
    """skopeo (Go, containers/image) sees exactly our manifest and our layer, over plain HTTP."""
    if not shutil.which("skopeo"):
        pytest.fail("skopeo is not installed: run `make setup`")
    bundle = build(TASK)
    registry = f"{local_registry}/interop"
    ref = reference(registry, TASK)
    client = oci.client(registry)
    upload(client, bundle, write_layout(bundle, tmp_path / "layout", "0.1"), ref)
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True).stdout
    assert raw == bundle.manifest
    info = json.loads(subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
                                     check=True, capture_output=True, text=True).stdout)
    assert info["Digest"] == bundle.digest and info["RepoTags"] == ["0.1"]
    assert verify(TASK, registry) == []


@pytest.mark.parametrize("case", ["wrong-annotation", "two-objects"])
def test_verify_catches_a_broken_bundle_in_the_registry(local_registry, case, tmp_path):
    content = TASK.path.read_bytes()
    good = contract.layer_annotations(TASK.doc)
    if case == "wrong-annotation":
        layers = [(tar_gz([("looker-refresh", content)], 0), {**good, contract.KIND: "Task"})]
        expected = "layer 0: dev.tekton.image.kind 'Task' must be lower-case and singular (task, pipeline)"
    else:
        layers = [(tar_gz([("looker-refresh", content), ("extra", content)], 0), good)]
        expected = "layer 0: holds 2 tar entries (looker-refresh, extra); Tekton reads one file per layer"
    bundle = assemble(layers, {}, "2026-01-01T00:00:00Z")
    registry = f"{local_registry}/{case}"
    upload(oci.client(registry), bundle, write_layout(bundle, tmp_path / "layout", "0.1"), reference(registry, TASK))
    found = verify(TASK, registry)
    assert expected in found, found


def test_a_tkn_style_json_layer_of_the_same_task_verifies(local_registry, tmp_path):
    """tkn bundle push stores the resource as JSON (tektoncd/cli pkg/bundle/parser.go): the same data."""
    as_json = json.dumps(TASK.doc).encode()
    layers = [(tar_gz([("looker-refresh", as_json)], 0), contract.layer_annotations(TASK.doc))]
    bundle = assemble(layers, {}, "2026-01-01T00:00:00Z")
    registry = f"{local_registry}/tkn-style"
    upload(oci.client(registry), bundle, write_layout(bundle, tmp_path / "layout", "0.1"), reference(registry, TASK))
    assert verify(TASK, registry) == []


def test_verify_names_a_missing_bundle(local_registry):
    assert verify(TASK, f"{local_registry}/nothing-here") == [
        f"{local_registry}/nothing-here/interlock/tasks/looker-refresh:0.1 is not in the registry "
        f"(run `interlock bundle push --registry {local_registry}/nothing-here`)"]
