"""`interlock versions`: a published version keeps its interface.

Users pin a version (`tasks/<name>/0.1/`, bundle `:0.1`, the hub resolver's `version`), so a
change that would break their pipeline (a param removed or made required, a default or a type
changed, a result removed, a workspace removed or made required) must go into a new version
folder. This compares every Task and Pipeline version with the same version at a base revision
(default: where this branch left `git-revision` of [tool.interlock], else HEAD) and fails on
such a change. A version that is new since the base is compared with the version folder before
it, for information only: breaking it is what a new version is for.
"""
from __future__ import annotations

import subprocess
import sys

import click
import yaml

from interlock import catalog, paths
from interlock.settings import settings


def interface(doc: dict) -> dict[str, dict]:
    """What a user's pipeline depends on: params (type, default), results (type), workspaces."""
    spec = doc.get("spec") or {}
    return {
        "params": {p["name"]: {"type": p.get("type", "string"), "has_default": "default" in p,
                               "default": p.get("default")} for p in spec.get("params") or []},
        "results": {r["name"]: {"type": r.get("type", "string")} for r in spec.get("results") or []},
        "workspaces": {w["name"]: {"optional": bool(w.get("optional")), "readOnly": bool(w.get("readOnly"))}
                       for w in spec.get("workspaces") or []},
    }


def breaking(old: dict, new: dict) -> list[str]:
    """Every change from `old` to `new` that would break a pipeline written against `old`."""
    a, b = interface(old), interface(new)
    found = []
    for name, was in a["params"].items():
        now = b["params"].get(name)
        if now is None:
            found.append(f"param `{name}` removed")
        elif now["type"] != was["type"]:
            found.append(f"param `{name}` type {was['type']} -> {now['type']}")
        elif was["has_default"] and not now["has_default"]:
            found.append(f"param `{name}` lost its default (now required)")
        elif was["has_default"] and now["default"] != was["default"]:
            found.append(f"param `{name}` default {was['default']!r} -> {now['default']!r}")
    found += [f"new param `{n}` has no default (every run must now pass it)"
              for n, p in b["params"].items() if n not in a["params"] and not p["has_default"]]
    for name, was in a["results"].items():
        now = b["results"].get(name)
        if now is None:
            found.append(f"result `{name}` removed")
        elif now["type"] != was["type"]:
            found.append(f"result `{name}` type {was['type']} -> {now['type']}")
    for name, was in a["workspaces"].items():
        now = b["workspaces"].get(name)
        if now is None:
            found.append(f"workspace `{name}` removed")
        elif was["optional"] and not now["optional"]:
            found.append(f"workspace `{name}` is no longer optional")
        elif now["readOnly"] and not was["readOnly"]:
            found.append(f"workspace `{name}` became read-only")
    found += [f"new workspace `{n}` is required" for n, w in b["workspaces"].items()
              if n not in a["workspaces"] and not w["optional"]]
    return found


def _git(*args: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(paths.ROOT), *args], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def default_base() -> str:
    branch = settings().get("git-revision", "main")
    return _git("merge-base", "HEAD", branch) or "HEAD"


def at_base(base: str, res: catalog.Resource) -> dict | None:
    """The resource's document at the base revision, or None when it did not exist there."""
    text = _git("show", f"{base}:{res.relpath}")
    return yaml.safe_load(text) if text else None


@click.command()
@click.option("--base", metavar="REF", help="Compare with this git revision (default: the merge-base "
                                             "with git-revision of [tool.interlock], else HEAD).")
def versions(base: str | None) -> None:
    """Fail when a published Task/Pipeline version changed its interface in a breaking way."""
    if _git("rev-parse", "--git-dir") is None:
        click.echo(f"error: {paths.ROOT} is not a git checkout: nothing to compare versions with", err=True)
        sys.exit(1)
    base = base or default_base()
    if _git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}") is None:
        click.echo(f"error: --base {base!r} is not a revision of this repository", err=True)
        sys.exit(1)
    failed, resources = 0, catalog.resources()
    for res in resources:
        label = f"{res.kind.lower()} {res.name} {res.version}"
        old = at_base(base, res)
        if old is not None:
            for change in breaking(old, res.doc):
                click.echo(f"error: {res.relpath}: {change}: a published version keeps its interface; "
                           f"put this change in a new version folder", err=True)
                failed += 1
            continue
        earlier = [r for r in resources if (r.kind, r.name) == (res.kind, res.name) and r.version != res.version
                   and catalog.version_key(r.version) < catalog.version_key(res.version)]
        if earlier:
            changes = breaking(earlier[-1].doc, res.doc)
            click.echo(f"new   {label}: " + (f"breaks {earlier[-1].version}: {'; '.join(changes)} "
                                             "(say so in CHANGELOG.md)" if changes else
                                             f"compatible with {earlier[-1].version}"))
    if failed:
        sys.exit(1)
    click.echo(f"no breaking change in a published version ({len(resources)} checked against {base[:12]})")
