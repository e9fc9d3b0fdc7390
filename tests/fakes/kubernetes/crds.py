"""The custom resources the fake serves, read from CustomResourceDefinition YAML.

`load_crds(path)` reads every CRD of a (multi-document) YAML file, such as Istio's
`crd-all.gen.yaml`; each served version keeps its `openAPIV3Schema`. `istio_crds()` uses the Istio
file under the shared reference folder when it is there, and otherwise falls back to the names of
VirtualService and DestinationRule without schemas (objects are then stored unchecked, and the
fake says so in `FakeKubernetes.schema_checked`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ISTIO_CRDS_RELATIVE_PATH = Path("istio") / "crd-all.gen.yaml"
ISTIO_GROUP = "networking.istio.io"


@dataclass(frozen=True)
class CustomResource:
    group: str
    plural: str
    kind: str
    list_kind: str
    namespaced: bool
    # served version -> openAPIV3Schema (None: not checked)
    versions: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    storage_version: str = ""

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}"

    def schema(self, version: str) -> dict[str, Any] | None:
        return self.versions.get(version)


class CrdError(ValueError):
    pass


def from_definition(doc: dict[str, Any], source: str = "<crd>") -> CustomResource:
    try:
        spec = doc["spec"]
        names = spec["names"]
        versions = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema")
                    for v in spec["versions"] if v.get("served", True)}
        storage = next((v["name"] for v in spec["versions"] if v.get("storage")), next(iter(versions), ""))
        return CustomResource(spec["group"], names["plural"], names["kind"], names.get("listKind", names["kind"] + "List"),
                              spec.get("scope", "Namespaced") == "Namespaced", versions, storage)
    except (KeyError, TypeError, StopIteration) as error:
        raise CrdError(f"{source}: not a CustomResourceDefinition ({type(error).__name__}: {error})") from None


@functools.cache
def load_crds(path: Path) -> tuple[CustomResource, ...]:
    """Every CustomResourceDefinition in a YAML file (read once per process: Istio's is 1 MB)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 0.1 s instead of 1 s
    try:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
    except FileNotFoundError:
        raise CrdError(f"{path}: CRD file not found") from None
    except yaml.YAMLError as error:
        raise CrdError(f"{path}: not YAML: {error}") from None
    found = [from_definition(doc, f"{path}: {doc.get('metadata', {}).get('name', '?')}") for doc in documents
             if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"]
    if not found:
        raise CrdError(f"{path}: no CustomResourceDefinition in the file")
    return tuple(found)


def _unchecked(plural: str, kind: str) -> CustomResource:
    return CustomResource(ISTIO_GROUP, plural, kind, kind + "List", True,
                          {"v1": None, "v1beta1": None, "v1alpha3": None}, "v1")


def istio_crds(reference: Path) -> tuple[CustomResource, ...]:
    """Istio's CRDs from `<reference>/istio/crd-all.gen.yaml`, or schema-less VirtualService and
    DestinationRule when the file is absent (a user's clone has no reference folder)."""
    path = reference / ISTIO_CRDS_RELATIVE_PATH
    if path.is_file():
        return load_crds(path)
    return (_unchecked("virtualservices", "VirtualService"), _unchecked("destinationrules", "DestinationRule"))
