"""The images Interlock builds, their names, references and what each is built from."""
from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from interlock.paths import IMAGES, SOURCE

REPOSITORY = "localhost/interlock"
BUILD = SOURCE / "build"   # the checkout's: images are built from its images/ and requirements/


@dataclass(frozen=True)
class ImageSpec:
    name: str
    # "debs": a root filesystem layer assembled from Debian packages (images/<name>/packages.txt)
    # "wheels": the project and the hashed pins of requirements/<name>.txt, installed on base
    kind: Literal["debs", "wheels"]
    parent: str | None
    description: str

    @property
    def folder(self) -> Path:
        return IMAGES / self.name

    @property
    def containerfile(self) -> Path:
        # integration images share one Containerfile; only their wheelhouse and labels differ
        return self.folder / "Containerfile" if self.kind == "debs" else IMAGES / "steps.Containerfile"

    @property
    def prune_rules(self) -> Path:
        """What the image leaves out (interlock.images.prune); optional for integration images."""
        return self.folder / "prune.txt"

    @property
    def ref(self) -> str:
        return f"{REPOSITORY}/{self.name}:{version()}"

    def inputs(self) -> list[Path]:
        """What the image is made from, for its revision and timestamp (see provenance.py)."""
        code = SOURCE / "scripts" / "interlock" / "images"
        if self.kind == "debs":
            own = [self.folder, code / "debs.py", code / "rootfs.py", code / "base.py", code / "prune.py"]
        else:
            own = [self.containerfile, code / "wheels.py", code / "prune.py", self.prune_rules,
                   SOURCE / "requirements" / f"{self.name}.txt", SOURCE / "pyproject.toml", IMAGES / "interlock_steps"]
        if self.parent:
            own += SPECS[self.parent].inputs()
        return sorted(set(own))


SPECS: dict[str, ImageSpec] = {s.name: s for s in [
    ImageSpec("base", "debs", None,
              "Python 3.11 from Debian 12 packages, non-root (uid 65532), for Interlock steps"),
    ImageSpec("tools", "debs", "base",
              "Interlock base plus bash, coreutils, sed, grep and findutils for script steps"),
    ImageSpec("looker", "wheels", "base", "Interlock steps for Looker (looker-sdk)"),
    ImageSpec("istio", "wheels", "base", "Interlock steps for Istio (kubernetes client)"),
    ImageSpec("vertex", "wheels", "base", "Interlock steps for Vertex AI (google-cloud-aiplatform)"),
]}


def version() -> str:
    """The project version: every image is tagged with it."""
    try:
        return importlib.metadata.version("interlock")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def build_order(names: list[str]) -> list[str]:
    """The requested images with their parents first, each once, in a stable order."""
    order: list[str] = []

    def add(name: str) -> None:
        parent = SPECS[name].parent
        if parent:
            add(parent)
        if name not in order:
            order.append(name)

    for name in names:
        add(name)
    return order
