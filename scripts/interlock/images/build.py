"""Build the images in dependency order with podman and report size, digest and time."""
from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from interlock.images import base, cache, provenance, wheels
from interlock.images.inventory import Built, inspect
from interlock.images.spec import BUILD, SPECS, ImageSpec
from interlock.podman import binary, podman

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Result:
    image: Built
    seconds: float


def context_for(spec: ImageSpec, epoch: int, log: Log) -> Path:
    """Prepare the build context: a reproducible rootfs.tar, or the wheelhouse."""
    if spec.kind == "debs":
        return base.assemble(spec, epoch, log).tar.parent
    log(f"{spec.name}: preparing wheelhouse from requirements/{spec.name}.txt")
    return wheels.prepare(spec)


def build_one(spec: ImageSpec, no_cache: bool, log: Log) -> Result:
    if not spec.containerfile.is_file():
        raise BuildError(f"{spec.containerfile}: Containerfile missing for image {spec.name!r}")
    started = time.monotonic()
    previous = inspect(spec)
    prov = provenance.of(spec.inputs())
    context = context_for(spec, prov.epoch, log)
    metadata = {"title": f"interlock-{spec.name}", "description": spec.description,
                "created": prov.created, "version": spec.ref.rsplit(":", 1)[1],
                "revision": prov.revision, "source": prov.source}
    containerfile = render(spec, metadata)
    args = ["build", "--quiet", "--pull=never", "--timestamp", str(prov.epoch),
            "--file", str(containerfile), "--tag", spec.ref]
    if spec.parent:
        args += ["--build-arg", f"BASE={SPECS[spec.parent].ref}"]
    if no_cache:
        args.append("--no-cache")
    log(f"{spec.name}: podman build {spec.ref} (revision {prov.revision}, created {prov.created})")
    podman(*args, str(context))
    built = inspect(spec)
    if built is not None and not no_cache and stale(built, prov):
        # render() should prevent this; if podman's cache still returns older metadata, do not
        # trust any cached layer
        log(f"{spec.name}: cached layers carry another revision or timestamp; rebuilding --no-cache")
        podman(*args, "--no-cache", str(context))
        built = inspect(spec)
    if built is None:
        raise BuildError(f"{spec.ref}: podman build succeeded but the image is not there")
    if stale(built, prov):
        raise BuildError(f"{spec.ref}: labels do not match revision {prov.revision} / "
                         f"created {prov.created} even without the cache")
    if previous is not None and previous.id != built.id:
        # the image this tag pointed at is now unreferenced (with its build stages); podman
        # refuses when a container or another image still uses it, which is fine
        podman("rmi", previous.id, check=False)
    # each named stage again: all cache hits, its last image's id is the stage's cache to keep
    stage_ids = [podman(*[a for a in args if a not in ("--tag", spec.ref, "--no-cache")], "--target", stage, str(context))
                 .stdout.strip() for stage in cache.stages(containerfile.read_text())]
    cache.keep_only(spec, [built.id, *stage_ids], log)
    return Result(built, time.monotonic() - started)


def render(spec: ImageSpec, metadata: dict[str, str]) -> Path:
    """The image's Containerfile with the metadata labels filled in, as build/<name>/Containerfile.

    podman 4.3 keys its layer cache on the literal instruction text (ARG entries on the name
    only) and ignores --timestamp, so metadata passed as build args would come back from the
    cache with an older revision and older created times. With the values written into the LABEL
    that opens the final stage, new values miss the cache there and every later layer is redone
    with the new timestamp, while the expensive install stage stays cached.
    """
    text = spec.containerfile.read_text()
    for key, value in metadata.items():
        if re.search(r"[\n\"'\\$]", value):
            raise BuildError(f"{key}={value!r}: metadata values may not contain line breaks, quotes, "
                             "backslashes or $")
        text, count = re.subn(rf'(org\.opencontainers\.image\.{key}=)"[^"]*"',
                              lambda m: f'{m.group(1)}"{value}"', text)
        if count != 1:
            raise BuildError(f"{spec.containerfile}: expected one org.opencontainers.image.{key} "
                             f"label, found {count}")
    out = BUILD / spec.name / "Containerfile"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def stale(built: Built, prov: provenance.Provenance) -> bool:
    """Whether the image's metadata is not the one this build asked for."""
    labels = built.labels
    return (labels.get("org.opencontainers.image.revision") != prov.revision
            or labels.get("org.opencontainers.image.created") != prov.created
            or labels.get("org.opencontainers.image.source") != prov.source)


@contextmanager
def exclusive(log: Log) -> Iterator[None]:
    """One build at a time per checkout: builds share build/<name>/rootfs and the image tags."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".images.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another `interlock images build` is running in this checkout; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(names: list[str], no_cache: bool, log: Log) -> list[Result]:
    binary()  # fail before minutes of work if podman is missing
    with exclusive(log):
        return [build_one(SPECS[name], no_cache, log) for name in names]
