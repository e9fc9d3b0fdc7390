"""`interlock images`: build the offline step images, list them, push them to a registry, pin
their digests (local or pushed) in Task YAML."""
from __future__ import annotations

import json
import time

import click

from interlock.images.build import BuildError, build as run_build
from interlock.images.cold_start import cold_start as measure_cold_start
from interlock.images.debs import DebError
from interlock.images.inventory import inventory
from interlock.images.pin import PinError, pin_files, referenced, yaml_files
from interlock.images.publish import PublishError, pinned, push as push_images
from interlock.images.rootfs import RootfsError
from interlock.images.spec import REPOSITORY, SPECS, build_order
from interlock.images.wheels import WheelError
from interlock.paths import PIPELINES, ROOT, TASKS
from interlock.podman import PodmanError
from interlock.registry import RegistryError, repository as registry_repository

# the user's situation (no podman, no apt, bad input), not bugs: one line on stderr, exit 1
EXPECTED = (PodmanError, DebError, RootfsError, BuildError, WheelError, PinError, PublishError,
            RegistryError)


def _fail(err: Exception, code: int = 1) -> None:
    click.echo(f"error: {err}", err=True)
    raise SystemExit(code)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), *map(line, rows)])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def images() -> None:
    """Build, list and pin the step images (localhost/interlock/<name>:<version>).

    Images: base (Python from Debian packages), tools (base + bash/coreutils), and one per
    integration (looker, istio, vertex). See images/README.md.
    """


@images.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(SPECS)))
@click.option("--no-cache", is_flag=True, help="Rebuild every layer (the .deb and wheel caches stay).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print the summary.")
def build(names: tuple[str, ...], no_cache: bool, fmt: str) -> None:
    """Build NAMES (default: all), parents first; print size, digest and build time."""
    order = build_order(list(names) or list(SPECS))
    started = time.monotonic()

    def log(message: str) -> None:
        click.echo(f"[{time.monotonic() - started:6.1f}s] {message}", err=True)

    try:
        results = run_build(order, no_cache, log)
    except EXPECTED as err:
        _fail(err)
    if fmt == "json":
        click.echo(json.dumps([r.image.as_dict() | {"build_seconds": round(r.seconds, 1)}
                               for r in results], indent=2))
        return
    rows = [[r.image.name, r.image.ref, f"{r.image.size / 1e6:.1f}", r.image.digest,
             f"{r.seconds:.1f}"] for r in results]
    click.echo(_table(rows, ["NAME", "REFERENCE", "SIZE MB", "DIGEST", "SECONDS"]))


@images.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--cold-start", is_flag=True,
              help="Also time each step image from `podman run` to its first API call (runs a container).")
def list_(fmt: str, cold_start: bool) -> None:
    """Show every image: reference, size, digest and creation time, or `not built`."""
    try:
        found = inventory()
        starts = {name: measure_cold_start(name, b.ref) for name, b in found.items() if b} if cold_start else {}
    except EXPECTED as err:
        _fail(err)
    if fmt == "json":
        click.echo(json.dumps({name: (b.as_dict() | ({"cold_start_s": starts.get(name)} if cold_start else {})
                                      if b else None) for name, b in found.items()}, indent=2))
        return
    rows = []
    for name, b in found.items():
        if b is None:
            rows.append([name, SPECS[name].ref, "-", "not built", "-"])
        else:
            rows.append([name, b.ref, f"{b.size / 1e6:.1f}", b.digest, b.created])
        if cold_start:
            rows[-1].append("-" if starts.get(name) is None else f"{starts[name]:.2f}")
    click.echo(_table(rows, ["NAME", "REFERENCE", "SIZE MB", "DIGEST", "CREATED"]
                      + (["COLD START S"] if cold_start else [])))


@images.command()
@click.argument("names", nargs=-1, type=click.Choice(sorted(SPECS)))
@click.option("--registry", required=True, metavar="HOST[:PORT][/PATH]",
              help="Push to <registry>/interlock/<name>:<version>. Plain HTTP only when it is loopback.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def push(names: tuple[str, ...], registry: str, fmt: str) -> None:
    """Push the built images NAMES (default: all) to a registry; print the pushed digests.

    The registry compresses the layers, so pushed digests differ from local ones: run
    `interlock images pin --registry R` next to pin the Task YAML to them.
    """
    try:
        pushed = push_images(list(names) or list(SPECS), registry, lambda m: click.echo(m, err=True))
    except EXPECTED as err:
        _fail(err)
    if fmt == "json":
        click.echo(json.dumps([{"name": p.name, "ref": p.ref, "digest": p.digest, "pinned": p.pinned}
                               for p in pushed], indent=2))
        return
    click.echo(_table([[p.name, p.ref, p.digest] for p in pushed], ["NAME", "PUSHED", "DIGEST"]))


@images.command()
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 and list the references that differ from the built digests.")
@click.option("--registry", metavar="HOST[:PORT][/PATH]",
              help="Pin to the digests of the images pushed there (`images push`) instead of the local ones.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def pin(check: bool, registry: str | None, fmt: str) -> None:
    """Pin every <prefix>/interlock/<name> step image in tasks/ and pipelines/ to its digest.

    Rewrites tags (`:0.1.0`), placeholders (`@sha256:000…`) and old digests in `image:` values,
    editing the text in place so comments and layout stay. Running it twice changes nothing.
    Without --registry the references become localhost/interlock/<name>@<local digest>; with it,
    <registry>/interlock/<name>@<pushed digest> (checked to be the local build).
    """
    try:
        files = yaml_files([TASKS, PIPELINES])
        if registry:
            wanted = sorted(referenced(files) & set(SPECS))
            digests, repository = pinned(wanted, registry), registry_repository(registry)
        else:
            digests = {name: b.digest for name, b in inventory().items() if b is not None}
            repository = REPOSITORY
        changes, missing = pin_files(files, digests, write=not check, repository=repository)
    except EXPECTED as err:
        _fail(err)
    failed = bool(missing) or (check and bool(changes))
    if fmt == "json":
        click.echo(json.dumps({
            "written": not check,
            "changes": [{"path": str(c.path.relative_to(ROOT)), "line": c.line, "image": c.name,
                         "old": c.old, "new": c.new} for c in changes],
            "not_built": {str(p.relative_to(ROOT)): names for p, names in missing.items()},
        }, indent=2))
        raise SystemExit(1 if failed else 0)
    for path, names in missing.items():
        click.echo(f"error: {path.relative_to(ROOT)}: image not built: {', '.join(names)} "
                   f"(run `interlock images build {' '.join(names)}`)", err=True)
    for c in changes:
        verb = "differs" if check else "pinned"
        click.echo(f"{c.path.relative_to(ROOT)}:{c.line}: {verb}: {c.old} -> {c.new}")
    if failed:
        raise SystemExit(1)
    if not changes:
        click.echo(f"all step images pinned ({len(files)} files checked)")
