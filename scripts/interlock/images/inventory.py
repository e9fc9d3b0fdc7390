"""What is built locally: reference, digest, size and creation time of each image."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from interlock.images.spec import REPOSITORY, SPECS, ImageSpec
from interlock.podman import PodmanError, podman


@dataclass(frozen=True)
class Built:
    name: str
    ref: str
    digest: str
    id: str
    size: int
    created: str
    labels: dict[str, str]

    @property
    def pinned(self) -> str:
        """The reference Task YAML uses: by digest, so a rebuild can never change it silently."""
        return f"{REPOSITORY}/{self.name}@{self.digest}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"pinned": self.pinned, "size_mb": round(self.size / 1e6, 1)}


def inspect(spec: ImageSpec) -> Built | None:
    """The local image for spec, or None when it was never built."""
    proc = podman("image", "inspect", spec.ref, check=False)
    if proc.returncode != 0:
        message = (proc.stderr or "").strip()
        if "image not known" in message or "no such image" in message.lower():
            return None
        # podman itself is broken (configuration, storage): not the same as "not built"
        raise PodmanError(f"podman image inspect {spec.ref} failed: "
                          + (message.splitlines()[-1] if message else f"exit {proc.returncode}"))
    data = json.loads(proc.stdout)[0]
    return Built(name=spec.name, ref=spec.ref, digest=data["Digest"], id=data["Id"],
                 size=int(data["Size"]), created=data["Created"],
                 labels=dict(data.get("Labels") or {}))


def inventory() -> dict[str, Built | None]:
    return {name: inspect(spec) for name, spec in SPECS.items()}
