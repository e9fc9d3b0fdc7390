"""`interlock bundle build|push|verify`: Tekton bundles of the catalog's Tasks and Pipelines."""
from __future__ import annotations

import json

import click

from interlock import catalog, index
from interlock.bundles import contract
from interlock.bundles.build import build as build_bundle, layout_folder, write_layout
from interlock.bundles.publish import BundleError, push as push_bundles, reference, verify as verify_bundle
from interlock.paths import ROOT
from interlock.registry import RegistryError, registry_of

EXPECTED = (BundleError, RegistryError, catalog.CatalogError)
REGISTRY = click.option("--registry", metavar="HOST[:PORT][/PATH]",
                        help="Bundles live at <registry>/interlock/<tasks|pipelines>/<name>:<version>. "
                             "Plain HTTP only when it is loopback.")
NAMES = click.argument("names", nargs=-1, metavar="[NAME]...")
FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)


def _fail(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    raise SystemExit(1)


def _selected(names: tuple[str, ...]) -> list[catalog.Resource]:
    found = catalog.resources()
    unknown = sorted(set(names) - {r.name for r in found})
    if unknown:
        _fail(ValueError(f"no Task or Pipeline named {', '.join(unknown)} "
                         f"(known: {', '.join(sorted({r.name for r in found}))})"))
    return [r for r in found if not names or r.name in names]


def _show(rows: list[dict], columns: list[str], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    for row in [dict(zip(columns, [c.upper() for c in columns])), *rows]:
        click.echo("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths)).rstrip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def bundle() -> None:
    """Tekton bundles (OCI images for the bundles resolver), one per Task/Pipeline version.

    Each bundle holds one layer: a gzip tar of the version's YAML file, exactly as in the
    repository, annotated as Tekton's bundle contract requires. Same commit, same digest.
    """


@bundle.command()
@NAMES
@FORMAT
def build(names: tuple[str, ...], fmt: str) -> None:
    """Build the bundles of NAMES (default: all) as OCI layouts under build/bundles/; print digests."""
    rows = []
    try:
        for res in _selected(names):
            built = build_bundle(res)
            problems = contract.problems(built.data, built.blob)
            if problems:
                raise BundleError(f"{res.relpath}: {'; '.join(problems)}")
            folder = write_layout(built, layout_folder(res), res.version)
            rows.append({"kind": res.kind.lower(), "name": res.name, "version": res.version,
                         "digest": built.digest, "layout": str(folder.relative_to(ROOT))})
    except EXPECTED as err:
        _fail(err)
    _show(rows, ["kind", "name", "version", "digest", "layout"], fmt)


@bundle.command()
@NAMES
@REGISTRY
@click.option("--allow-dirty", is_flag=True,
              help="Push files with uncommitted edits too (revision <commit>-dirty); for throw-away registries.")
@FORMAT
def push(names: tuple[str, ...], registry: str | None, allow_dirty: bool, fmt: str) -> None:
    """Push the bundles of NAMES (default: all) and record their digests in catalog.yaml.

    Every bundle is built and checked first; nothing is pushed unless all are sound.
    """
    if not registry:
        _fail(click.UsageError("--registry is required"))
    try:
        published = push_bundles(_selected(names), registry, allow_dirty)
        index.record({(p.resource.kind, p.resource.name, p.resource.version): p.pinned for p in published})
    except EXPECTED as err:
        _fail(err)
    _show([{"kind": p.resource.kind.lower(), "name": p.resource.name, "version": p.resource.version,
            "bundle": p.pinned} for p in published], ["kind", "name", "version", "bundle"], fmt)
    click.echo("recorded in catalog.yaml", err=True)


@bundle.command()
@NAMES
@REGISTRY
def verify(names: tuple[str, ...], registry: str | None) -> None:
    """Pull bundles back and check them: Tekton's contract, and each layer is exactly the YAML in
    the repository. With --registry: the bundles there; without: those catalog.yaml records
    (also checking the digest it records)."""
    records = index.recorded()
    failed = checked = 0
    try:
        for res in _selected(names):
            recorded = records.get((res.kind, res.name, res.version))
            if registry:
                ref = reference(registry, res)
                expected = recorded.rsplit("@", 1)[1] if recorded and recorded.startswith(ref + "@") else None
                where = registry
            elif recorded:
                ref, expected = recorded.rsplit("@", 1)
                where = registry_of(ref)
            else:
                continue
            checked += 1
            problems = verify_bundle(res, where, expected, ref)
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
            failed += bool(problems)
            if not problems:
                click.echo(f"ok  {ref}" + (f"@{expected}" if expected else ""))
    except EXPECTED as err:
        _fail(err)
    if not checked:
        _fail(BundleError("nothing to verify: catalog.yaml records no pushed bundle (pass --registry)"))
    if failed:
        raise SystemExit(1)
