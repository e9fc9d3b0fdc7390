"""Build a Tekton bundle for one Task or Pipeline version: an OCI image in memory, written as an
OCI image layout (build/bundles/<kind folder>/<name>/<version>/) that oras pushes as it is.

Reproducible: the same file at the same commit gives the same digest. Every byte is fixed:
the tar entry (name, mode 0600, owner 0, mtime = SOURCE_DATE_EPOCH), gzip (zlib, level 9,
header mtime 0), and the JSON of config and manifest (sorted keys, no spaces). The epoch and
the revision are those of the last commit that touched the file (images/provenance.py), so
committing catalog.yaml or another Task does not move a bundle's digest.
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from interlock import catalog
from interlock.bundles import contract
from interlock.images import provenance
from interlock.oci import sha256
from interlock.paths import ROOT
from interlock.settings import settings

BUILD = ROOT / "build" / "bundles"


@dataclass(frozen=True)
class Bundle:
    manifest: bytes                                     # the exact bytes pushed; their sha256 is the digest
    blobs: dict[str, bytes] = field(repr=False)         # config and layers, by digest

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def data(self) -> dict:
        return json.loads(self.manifest)

    def blob(self, digest: str) -> bytes:
        return self.blobs[digest]


def tar_gz(files: list[tuple[str, bytes]], mtime: int) -> bytes:
    """A gzip-compressed tar of `files`, byte-for-byte reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o600, mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def assemble(layers: list[tuple[bytes, dict[str, str]]], annotations: dict[str, str], created: str) -> Bundle:
    """A bundle from compressed layers and their annotations (no contract check: see check())."""
    blobs = {sha256(layer): layer for layer, _ in layers}
    config = contract.canonical_json({
        "architecture": "", "os": "", "created": created, "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(gzip.decompress(layer)) for layer, _ in layers]}})
    blobs[sha256(config)] = config
    manifest = {
        "schemaVersion": 2,
        "mediaType": contract.MANIFEST_TYPE,
        "config": {"mediaType": contract.CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": contract.LAYER_TYPE, "digest": sha256(layer), "size": len(layer),
                    "annotations": notes} for layer, notes in layers],
        "annotations": annotations,
    }
    return Bundle(contract.canonical_json(manifest), blobs)


def annotations(res: catalog.Resource, prov: provenance.Provenance) -> dict[str, str]:
    """The OCI annotations of a resource's bundle: what it is and where it comes from."""
    description = " ".join(str((res.doc.get("spec") or {}).get("description", "")).split())
    return {
        "org.opencontainers.image.title": res.name,
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.version": res.version,
        "org.opencontainers.image.licenses": settings()["license"] or "NOASSERTION",
        "org.opencontainers.image.source": prov.source,
        "org.opencontainers.image.revision": prov.revision,
        "org.opencontainers.image.created": prov.created,
    }


def build(res: catalog.Resource) -> Bundle:
    """The bundle of one Task or Pipeline version: one layer, the file as it is in the repo."""
    prov = provenance.of([res.path])
    content = res.path.read_bytes()
    layer = tar_gz([(res.doc["metadata"]["name"], content)], prov.epoch)
    return assemble([(layer, contract.layer_annotations(res.doc))], annotations(res, prov), prov.created)


def layout_folder(res: catalog.Resource) -> Path:
    return BUILD / catalog.KIND_FOLDERS[res.kind] / res.name / res.version


def write_layout(bundle: Bundle, folder: Path, tag: str) -> Path:
    """Write the bundle as an OCI image layout (oci-layout, index.json, blobs/sha256/*) tagged
    `tag`, replacing what the folder held."""
    shutil.rmtree(folder, ignore_errors=True)
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest, data in {**bundle.blobs, bundle.digest: bundle.manifest}.items():
        (blobs / digest.split(":", 1)[1]).write_bytes(data)
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": contract.MANIFEST_TYPE, "digest": bundle.digest,
                            "size": len(bundle.manifest),
                            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (folder / "index.json").write_bytes(contract.canonical_json(index))
    return folder


def read_layout(folder: Path) -> Bundle:
    """The bundle an OCI image layout holds (its one manifest), checking every blob's digest."""
    index = json.loads((folder / "index.json").read_text())
    blobs_dir = folder / "blobs" / "sha256"
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise ValueError(f"{folder}: expected one manifest in index.json, found {len(manifests)}")
    manifest = (blobs_dir / manifests[0]["digest"].split(":", 1)[1]).read_bytes()
    blobs = {}
    data = json.loads(manifest)
    for descriptor in [data.get("config") or {}, *(data.get("layers") or [])]:
        digest = descriptor.get("digest", "")
        content = (blobs_dir / digest.split(":", 1)[-1]).read_bytes()
        if sha256(content) != digest:
            raise ValueError(f"{folder}: blob {digest} does not hash to its digest")
        blobs[digest] = content
    if sha256(manifest) != manifests[0]["digest"]:
        raise ValueError(f"{folder}: the manifest does not hash to {manifests[0]['digest']}")
    return Bundle(manifest, blobs)
