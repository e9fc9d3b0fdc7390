"""Push the step images to a registry, and find the digests the registry knows them by.

A push compresses the layers, so the registry's manifest digest differs from the local one:
Task YAML that runs from a registry must pin the pushed digest. The registry's manifest is
ours when its config digest is the local image ID (the config, with the uncompressed layer
digests, is pushed unchanged), which is how `pinned` tells our build from any other.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from interlock import oci
from interlock import registry as reg
from interlock.images.inventory import Built, inspect
from interlock.images.spec import SPECS, version
from interlock.podman import podman


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class Pushed:
    name: str
    ref: str      # <registry>/interlock/<name>:<version>
    digest: str   # the registry's manifest digest

    @property
    def pinned(self) -> str:
        return f"{self.ref.rsplit(':', 1)[0]}@{self.digest}"


def remote_ref(registry: str, name: str) -> str:
    return f"{reg.image_repository(registry, name)}:{version()}"


def _built(names: list[str]) -> dict[str, Built]:
    found = {name: inspect(SPECS[name]) for name in names}
    missing = [name for name, b in found.items() if b is None]
    if missing:
        raise PublishError(f"image(s) not built: {', '.join(missing)} "
                           f"(run `interlock images build {' '.join(missing)}`)")
    return found  # type: ignore[return-value]


def push(names: list[str], registry: str, log: Callable[[str], None]) -> list[Pushed]:
    """Push each built image to <registry>/interlock/<name>:<version>; nothing is pushed unless
    every image is built and the registry answers."""
    registry = reg.check(registry)
    built = _built(names)
    oci.reachable(registry)
    # plain HTTP only to a loopback registry (see interlock.registry)
    tls = ["--tls-verify=false"] if reg.is_loopback(registry) else []
    pushed = []
    with tempfile.TemporaryDirectory(prefix="interlock-push-") as tmp:
        for name, b in built.items():
            target, digestfile = remote_ref(registry, name), Path(tmp) / name
            log(f"{name}: podman push {b.ref} {target}")
            podman("push", "--quiet", *tls, "--digestfile", str(digestfile), b.ref, target)
            pushed.append(Pushed(name, target, digestfile.read_text().strip()))
    return pushed


def pinned(names: list[str], registry: str) -> dict[str, str]:
    """The registry's digest of each local image, by name. PublishError names every image that
    is not in the registry, or whose registry copy is another build than the local one."""
    registry = reg.check(registry)
    built = _built(names)
    client = oci.client(registry)
    digests, problems = {}, []
    for name, b in built.items():
        ref = remote_ref(registry, name)
        found = oci.manifest(client, ref)
        if found is None:
            problems.append(f"{ref} is not in the registry (run `interlock images push --registry "
                            f"{registry} {name}`)")
        elif found.data.get("config", {}).get("digest") != f"sha256:{b.id}":
            problems.append(f"{ref} is another build than the local {b.ref} (config "
                            f"{found.data.get('config', {}).get('digest')}, local image sha256:{b.id}): "
                            "push it again")
        else:
            digests[name] = found.digest
    if problems:
        raise PublishError("; ".join(problems))
    return digests
