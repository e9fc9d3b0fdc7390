"""Push bundles to a registry with oras (the OCI layout, byte for byte), pull them back, and
verify them against the contract and against the files in the repository."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from oras.layout.layout import Layout, NewLayoutFromRegistry

from interlock import catalog, oci
from interlock import registry as reg
from interlock.bundles import contract
from interlock.bundles.build import Bundle, build, layout_folder, read_layout, write_layout


class BundleError(RuntimeError):
    """A bundle that cannot be pushed or pulled; the message names it and says why."""


@dataclass(frozen=True)
class Published:
    resource: catalog.Resource
    reference: str   # <registry>/interlock/<tasks|pipelines>/<name>:<version>
    digest: str

    @property
    def pinned(self) -> str:
        return f"{self.reference}@{self.digest}"


def reference(registry: str, res: catalog.Resource) -> str:
    return f"{reg.bundle_repository(registry, catalog.KIND_FOLDERS[res.kind], res.name)}:{res.version}"


def checked(res: catalog.Resource, allow_dirty: bool = False) -> Bundle:
    """The resource's bundle, or BundleError when it breaks the contract or holds uncommitted edits."""
    bundle = build(res)
    found = contract.problems(bundle.data, bundle.blob)
    if found:
        raise BundleError(f"{res.relpath}: the bundle breaks Tekton's bundle contract: {'; '.join(found)}")
    revision = bundle.data["annotations"]["org.opencontainers.image.revision"]
    if revision.endswith("-dirty") and not allow_dirty:
        raise BundleError(f"{res.relpath} has uncommitted changes: commit it first, so the bundle's revision "
                          "names the commit it holds (or pass --allow-dirty for a throw-away push)")
    return bundle


def push(resources: list[catalog.Resource], registry: str, allow_dirty: bool = False) -> list[Published]:
    """Build, check and push every resource's bundle; nothing is pushed unless all are sound."""
    registry = reg.check(registry)
    bundles = [(res, checked(res, allow_dirty)) for res in resources]
    client = oci.client(registry)
    published = []
    for res, bundle in bundles:
        ref = reference(registry, res)
        upload(client, bundle, write_layout(bundle, layout_folder(res), res.version), ref)
        published.append(Published(res, ref, bundle.digest))
    return published


def upload(client, bundle: Bundle, layout: Path, ref: str) -> None:
    """Push an OCI layout holding `bundle` to `ref` (repository:tag) as it is, byte for byte."""
    client.auth.load_configs(client.get_container(ref))
    answer = Layout(str(layout)).push_to_registry(client, ref, tag=ref.rsplit(":", 1)[1])
    told = answer.headers.get("Docker-Content-Digest")
    if told and told != bundle.digest:
        raise BundleError(f"{ref}: the registry stored digest {told}, not the pushed manifest's {bundle.digest}")


def pull(registry: str, ref: str) -> Bundle | None:
    """The bundle a reference names in the registry, every blob checked against its digest;
    None when the registry does not have it."""
    client = oci.client(registry)
    if oci.manifest(client, ref) is None:
        return None
    with tempfile.TemporaryDirectory(prefix="interlock-bundle-") as tmp:
        folder = Path(tmp) / "layout"
        try:
            NewLayoutFromRegistry(str(folder), client, ref)
            return read_layout(folder)
        except (OSError, ValueError, KeyError) as e:  # e.g. a manifest type oras cannot lay out
            raise BundleError(f"{ref}: {e}") from None


def verify(res: catalog.Resource, registry: str, expected: str | None = None, ref: str | None = None) -> list[str]:
    """What is wrong with the resource's bundle in the registry: the contract, the layer's content
    against the file in the repository, and (when given) the digest catalog.yaml recorded."""
    ref = ref or reference(registry, res)
    bundle = pull(registry, ref)
    if bundle is None:
        return [f"{ref} is not in the registry (run `interlock bundle push --registry {registry}`)"]
    found = contract.problems(bundle.data, bundle.blob)
    if expected and bundle.digest != expected:
        found.append(f"{ref} is {bundle.digest}, catalog.yaml records {expected}")
    kind = contract.TEKTON_KINDS[res.kind]
    layers = [layer for layer in bundle.data.get("layers") or []
              if (layer.get("annotations") or {}).get(contract.KIND) == kind
              and (layer.get("annotations") or {}).get(contract.NAME) == res.name]
    if len(layers) != 1:
        found.append(f"{ref}: {len(layers)} layer(s) for {kind} {res.name}, expected one")
        return found
    try:
        _, content = contract.single_file(bundle.blob(layers[0]["digest"]))
    except ValueError as e:
        return found + [f"{ref}: the {kind} layer: {e}"]
    # the file's bytes (what we push), or the same data in another encoding (tkn writes JSON)
    if content != res.path.read_bytes() and _data(content) != res.doc:
        found.append(f"{ref}: the {kind} layer is not {res.relpath} as it is in the repository")
    return found


def _data(content: bytes) -> object:
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError:
        return None
