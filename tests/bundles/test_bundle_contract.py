"""Bundles as built, without a registry: reproducible bytes, and every contract rule caught."""
from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from interlock import catalog
from interlock.bundles import contract
from interlock.bundles.build import assemble, build, read_layout, tar_gz, write_layout
from interlock.oci import sha256

TASK = catalog.find("Task", "looker-refresh")
YAML = TASK.path.read_bytes()
GOOD = {contract.API_VERSION: "v1", contract.KIND: "task", contract.NAME: "looker-refresh"}


def crafted(layers: list[tuple[bytes, dict]]) -> list[str]:
    bundle = assemble(layers, {}, "2026-01-01T00:00:00Z")
    return contract.problems(bundle.data, bundle.blob)


def test_a_bundle_is_one_layer_holding_the_file_as_it_is():
    bundle = build(TASK)
    assert contract.problems(bundle.data, bundle.blob) == []
    layer = bundle.data["layers"][0]
    assert layer["annotations"] == GOOD and layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert contract.single_file(bundle.blob(layer["digest"])) == ("looker-refresh", YAML)
    config = json.loads(bundle.blob(bundle.data["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == [sha256(gzip.decompress(bundle.blob(layer["digest"])))]
    notes = bundle.data["annotations"]
    assert notes["org.opencontainers.image.version"] == "0.1"
    assert notes["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert notes["org.opencontainers.image.source"] == "https://github.com/interlock-catalog/interlock.git"
    assert len(notes["org.opencontainers.image.revision"].removesuffix("-dirty")) == 40


def test_the_same_file_and_commit_give_the_same_digest(monkeypatch):
    first = build(TASK)
    assert build(TASK).manifest == first.manifest
    # SOURCE_DATE_EPOCH wins over the commit time, in the tar entry and the created annotation
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pinned = build(TASK)
    assert pinned.data["annotations"]["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    layer = pinned.blob(pinned.data["layers"][0]["digest"])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        assert tar.getmembers()[0].mtime == 1700000000 and tar.getmembers()[0].mode == 0o600
    assert pinned.digest != first.digest


def test_layout_round_trip(tmp_path):
    bundle = build(TASK)
    folder = write_layout(bundle, tmp_path / "layout", "0.1")
    assert read_layout(folder) == bundle
    (folder / "blobs" / "sha256" / bundle.data["layers"][0]["digest"].split(":")[1]).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="does not hash to its digest"):
        read_layout(folder)


@pytest.mark.parametrize("notes, expected", [
    ({**GOOD, contract.NAME: "looker-refresh-v2"},
     "annotation dev.tekton.image.name='looker-refresh-v2' but the resource says 'looker-refresh'"),
    ({**GOOD, contract.KIND: "Task"}, "must be lower-case and singular"),
    ({**GOOD, contract.KIND: "tasks"}, "must be lower-case and singular"),
    ({**GOOD, contract.API_VERSION: "tekton.dev/v1"}, "annotation dev.tekton.image.apiVersion='tekton.dev/v1'"),
    ({contract.KIND: "task", contract.NAME: "looker-refresh"}, "missing annotation(s) dev.tekton.image.apiVersion"),
])
def test_a_wrong_annotation_is_caught(notes, expected):
    found = crafted([(tar_gz([("looker-refresh", YAML)], 0), notes)])
    assert any(expected in p for p in found), found


def test_two_objects_in_one_layer_are_caught():
    other = YAML.replace(b"name: looker-refresh\n", b"name: looker-refresh-copy\n", 1)
    found = crafted([(tar_gz([("looker-refresh", YAML), ("looker-refresh-copy", other)], 0), GOOD)])
    assert found == ["layer 0: holds 2 tar entries (looker-refresh, looker-refresh-copy); "
                     "Tekton reads one file per layer"]


def test_too_many_layers_and_duplicates_are_caught():
    layer = tar_gz([("looker-refresh", YAML)], 0)
    found = crafted([(layer, GOOD)] * 21)
    assert "21 layers: Tekton reads at most 20 objects from a bundle" in found
    assert "layer 1: the same apiVersion/kind/name as layer 0 (v1/task/looker-refresh)" in found


def test_a_layer_that_is_not_a_tekton_resource_is_caught():
    secret = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
    found = crafted([(tar_gz([("s", secret)], 0), {contract.API_VERSION: "v1", contract.KIND: "secret",
                                                    contract.NAME: "s"})])
    assert found == ["layer 0: kind 'Secret' is not a Tekton Task or Pipeline"]
    assert crafted([(gzip.compress(b"not a tar", mtime=0), GOOD)]) == \
        ["layer 0: not a tar archive (truncated header)"]
