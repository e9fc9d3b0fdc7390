"""The layer cache `interlock images build` keeps: the current build's, and nothing older.

podman keeps one intermediate image per instruction: the layer cache. What a rebuild of an image
can use is the chain of images under its tag and, for a multi-stage Containerfile, the chain
under each named stage (the throw-away `install` stage: its last image carries no tag). After
each build those ids are written to build/<name>/cache-ids.txt, and the images an earlier build
recorded that are no longer kept (another revision's layers, tens to hundreds of MB each) are
removed, children first. Only images recorded by this tool for that image are ever removed.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from interlock.images.spec import BUILD, ImageSpec
from interlock.podman import podman

_STAGE = re.compile(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


def stages(containerfile_text: str) -> list[str]:
    """The named stages of a Containerfile (`FROM … AS name`)."""
    return _STAGE.findall(containerfile_text)


def _parents() -> dict[str, str]:
    """Every image in the store -> its parent image id ("" for none)."""
    listed = json.loads(podman("images", "--all", "--format", "json").stdout or "[]")
    return {image["Id"]: image.get("ParentId") or "" for image in listed}


def _chain(image_id: str, parents: dict[str, str]) -> list[str]:
    """The image and its ancestors, nearest first."""
    found: list[str] = []
    while image_id in parents and image_id not in found:
        found.append(image_id)
        image_id = parents[image_id]
    return found


def keep_only(spec: ImageSpec, leaves: list[str], log: Callable[[str], None]) -> None:
    """Record the chains under `leaves` as the cache of `spec`; remove what an earlier build
    recorded and this one does not keep (podman refuses an image a container still uses)."""
    parents = _parents()
    keep = {image for leaf in leaves for image in _chain(leaf, parents)}
    record = BUILD / spec.name / "cache-ids.txt"
    earlier = set(record.read_text(encoding="utf-8").split()) if record.exists() else set()
    stale = sorted((i for i in earlier - keep if i in parents), key=lambda i: -len(_chain(i, parents)))
    for image in stale:  # children first; removing one may take its dangling parents along
        podman("rmi", image, check=False)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("".join(f"{image}\n" for image in sorted(keep)), encoding="utf-8")
    if stale:
        gone = len(set(stale) - set(_parents()))
        log(f"{spec.name}: removed {gone} cached layer image(s) of an earlier build")
