"""Tekton's bundle contract, as Tekton reads it and `tkn bundle push` writes it.

Sources (read, not guessed):
- "Tekton Bundle Contract v0.1" (tekton.dev/docs/pipelines/tekton-bundle-contracts): only Tekton
  resources; one resource per layer; at most 20 layers; each layer annotated with
  `dev.tekton.image.name`, `dev.tekton.image.kind` (lower-case, singular) and
  `dev.tekton.image.apiVersion`, the triple unique in the image; layers compressed with a
  supported OCI media type (not zstd); a layer holds the resource as YAML or JSON.
- tektoncd/pipeline `pkg/resolution/resolver/bundle/bundle.go` (`MaximumBundleObjects = 20`,
  `checkImageCompliance`, `readTarLayer`): the resolver requires the three annotations, a
  lower-case singular kind, picks the layer by kind and name, and reads the *first* tar entry
  with a single `Read` (so a layer must be a tar of exactly one file).
- tektoncd/cli `pkg/bundle/builder.go` (`BuildTektonBundle`): one tar entry per layer, named
  after the resource, mode 0600, gzip-compressed; apiVersion annotation = the version part
  only (`v1`, from `gvr.Version`, although the contract's prose shows `tekton.dev/v1beta1`).
  We write the same. Where we differ from tkn: the layer holds the file's YAML bytes as they
  are in the repository (tkn converts to JSON), media types are OCI's, and the manifest carries
  provenance annotations (tkn sets them only with `--annotate`). A tkn bundle passes these checks
  too, and `verify` compares a layer's data, so a JSON layer of the same resource is the same.
"""
from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from collections.abc import Callable

import yaml

MAX_OBJECTS = 20
KIND = "dev.tekton.image.kind"
NAME = "dev.tekton.image.name"
API_VERSION = "dev.tekton.image.apiVersion"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
# what we write is OCI; what Tekton's resolver (go-containerregistry) also reads, as older tkn
# releases wrote it, is Docker schema 2. Compressed layers only; the contract excludes zstd.
MANIFEST_TYPES = (MANIFEST_TYPE, "application/vnd.docker.distribution.manifest.v2+json")
CONFIG_TYPES = (CONFIG_TYPE, "application/vnd.docker.container.image.v1+json")
LAYER_TYPES = (LAYER_TYPE, "application/vnd.docker.image.rootfs.diff.tar.gzip")
TEKTON_KINDS = {"Task": "task", "Pipeline": "pipeline"}


def layer_annotations(doc: dict) -> dict[str, str]:
    """The three annotations a layer holding `doc` needs."""
    return {API_VERSION: str(doc["apiVersion"]).rsplit("/", 1)[-1],
            KIND: str(doc["kind"]).lower(),
            NAME: str(doc["metadata"]["name"])}


def single_file(layer: bytes) -> tuple[str, bytes]:
    """(name, content) of the one regular file in a gzip-compressed tar layer; ValueError otherwise."""
    try:
        raw = gzip.decompress(layer)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"not gzip-compressed ({e})") from None
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            members = tar.getmembers()
            if len(members) != 1 or not members[0].isreg():
                raise ValueError(f"holds {len(members)} tar entries ("
                                 f"{', '.join(m.name for m in members) or 'none'}); Tekton reads one file per layer")
            return members[0].name, tar.extractfile(members[0]).read()  # type: ignore[union-attr]
    except tarfile.TarError as e:
        raise ValueError(f"not a tar archive ({e})") from None


def problems(manifest: dict, blob: Callable[[str], bytes]) -> list[str]:
    """Every way a bundle breaks the contract; `blob(digest)` returns a blob's bytes."""
    found: list[str] = []
    if manifest.get("mediaType") not in MANIFEST_TYPES:
        found.append(f"manifest mediaType {manifest.get('mediaType')!r}, expected {MANIFEST_TYPE}")
    if (manifest.get("config") or {}).get("mediaType") not in CONFIG_TYPES:
        found.append(f"config mediaType {(manifest.get('config') or {}).get('mediaType')!r}, expected {CONFIG_TYPE}")
    layers = manifest.get("layers") or []
    if not layers:
        found.append("no layers: a bundle holds at least one Tekton resource")
    if len(layers) > MAX_OBJECTS:
        found.append(f"{len(layers)} layers: Tekton reads at most {MAX_OBJECTS} objects from a bundle")
    seen: dict[tuple, int] = {}
    for i, layer in enumerate(layers):
        where = f"layer {i}"
        notes = layer.get("annotations") or {}
        missing = [a for a in (API_VERSION, KIND, NAME) if not notes.get(a)]
        if missing:
            found.append(f"{where}: missing annotation(s) {', '.join(missing)}")
            continue
        kind = notes[KIND]
        if kind != kind.lower() or kind.endswith("s"):
            found.append(f"{where}: {KIND} {kind!r} must be lower-case and singular (task, pipeline)")
        key = (notes[API_VERSION], kind, notes[NAME])
        if key in seen:
            found.append(f"{where}: the same apiVersion/kind/name as layer {seen[key]} ({'/'.join(key)})")
        seen.setdefault(key, i)
        if layer.get("mediaType") not in LAYER_TYPES:
            found.append(f"{where}: mediaType {layer.get('mediaType')!r} is not a gzip tar layer ({LAYER_TYPE})")
            continue
        try:
            _, content = single_file(blob(layer["digest"]))
            doc = yaml.safe_load(content)
        except (ValueError, yaml.YAMLError) as e:
            found.append(f"{where}: {str(e).splitlines()[0]}")
            continue
        if not isinstance(doc, dict) or not all(doc.get(k) for k in ("apiVersion", "kind")) \
                or not (doc.get("metadata") or {}).get("name"):
            found.append(f"{where}: the file is not a Kubernetes resource with apiVersion, kind and metadata.name")
            continue
        expected = layer_annotations(doc)
        for annotation, value in expected.items():
            if notes[annotation] != value:
                found.append(f"{where}: annotation {annotation}={notes[annotation]!r} but the resource says {value!r}")
        if doc["kind"] not in TEKTON_KINDS:
            found.append(f"{where}: kind {doc['kind']!r} is not a Tekton Task or Pipeline")
    return found


def canonical_json(data: dict) -> bytes:
    """The one serialisation of our JSON blobs (stable bytes: stable digests)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
