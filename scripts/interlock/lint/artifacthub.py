"""Artifact Hub metadata: the `artifacthub.io/*` annotations every catalog version carries, the
CHANGELOG.md beside each Task/Pipeline's version folders, and `artifacthub-repo.yml`.

What Artifact Hub reads is taken from its Tekton tracker (artifacthub/hub
`internal/tracker/source/tekton/tekton.go`, `enrichPackageFromAnnotations`) and its docs
(`docs/tekton_annotations.md`): category from a fixed list; changes as a YAML list whose kinds
are added/changed/deprecated/removed/fixed/security; links as name+url; maintainers without an
email are dropped; license an SPDX id. Where Artifact Hub only ignores a bad value, we fail.
`artifacthub-repo.yml` is read from the repository's packages path (`locateMetadataFile`), so
each kind folder (tasks/, pipelines/, stepactions/) registered as a repository has its own.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from interlock.lint.rules import Hit
from interlock.lint.yaml_loader import Key

PREFIX = "artifacthub.io/"
REQUIRED = ("category", "changes", "license", "links", "maintainers", "provider")
KNOWN = set(REQUIRED) | {"alternativeName", "recommendations", "screenshots"}
CATEGORIES = ("ai-machine-learning", "database", "integration-delivery", "monitoring-logging", "networking",
              "security", "storage", "streaming-messaging", "skip-prediction")
CHANGE_KINDS = ("added", "changed", "deprecated", "removed", "fixed", "security")
RULE = "artifacthub-annotation"


def _yaml_list(value: Any) -> list | None:
    try:
        data = yaml.safe_load(value) if isinstance(value, str) else None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, list) else None


def _entries(value: Any, fields: tuple[str, ...]) -> str | None:
    """None when value is a YAML list of mappings each with non-empty `fields`, else the problem."""
    items = _yaml_list(value)
    if not items:
        return "is not a non-empty YAML list (write it as a `|` block)"
    for i, item in enumerate(items):
        missing = [f for f in fields if not (isinstance(item, dict) and str(item.get(f) or "").strip())]
        if missing:
            return f"entry {i} has no {' or '.join(missing)}"
        for f in fields:
            if f == "url" and not re.match(r"^https?://\S+$", str(item["url"])):
                return f"entry {i}: url {item['url']!r} is not an http(s) URL"
    return None


def changes(annotations: dict) -> list[tuple[str, str]] | None:
    """(kind, description) of each `artifacthub.io/changes` entry, or None when it is not valid."""
    items = _yaml_list(annotations.get(PREFIX + "changes"))
    if not items or not all(isinstance(i, dict) and i.get("kind") in CHANGE_KINDS
                            and str(i.get("description") or "").strip() for i in items):
        return None
    return [(i["kind"], " ".join(str(i["description"]).split())) for i in items]


def annotation_hits(annotations: dict, at: Key, license: str | None) -> Iterator[Hit]:
    """Every missing or invalid `artifacthub.io/*` annotation (at = the annotations' key)."""
    def hit(name: str, problem: str, hint: str) -> Hit:
        return Hit(at + (PREFIX + name,), RULE, f"annotation {PREFIX}{name} {problem}", hint)

    for key in sorted(k for k in annotations if k.startswith(PREFIX) and k[len(PREFIX):] not in KNOWN):
        yield Hit(at + (key,), RULE, f"annotation {key} is not one Artifact Hub reads",
                  f"use one of: {', '.join(PREFIX + k for k in sorted(KNOWN))}")
    for name in REQUIRED:
        if not str(annotations.get(PREFIX + name) or "").strip():
            yield hit(name, "is missing", "add it (RULES.md, Artifact Hub annotations)")
    value = lambda name: annotations.get(PREFIX + name)  # noqa: E731
    if value("category") and value("category") not in CATEGORIES:
        yield hit("category", f"is {value('category')!r}", f"use one of: {', '.join(CATEGORIES)}")
    if value("license") and license and value("license") != license:
        yield hit("license", f"is {value('license')!r}, the project's licence is {license!r}",
                  f"set it to {license} (pyproject.toml)")
    if value("changes") and changes(annotations) is None:
        yield hit("changes", "is not a YAML list of {kind, description}",
                  f"kinds: {', '.join(CHANGE_KINDS)}; one entry per change in this version")
    checks = {"links": ("name", "url"), "maintainers": ("name", "email"), "recommendations": ("url",)}
    for name, fields in checks.items():
        problem = _entries(value(name), fields) if value(name) else None
        if problem:
            yield hit(name, problem, f"a `|` block listing {{{', '.join(fields)}}} per entry")
    recommended = _yaml_list(value("recommendations")) or []
    for item in recommended:
        url = str(item.get("url", "")) if isinstance(item, dict) else ""
        if url and not url.startswith("https://artifacthub.io/packages/"):
            yield hit("recommendations", f"names {url!r}, not an Artifact Hub package",
                      "recommend packages by their https://artifacthub.io/packages/... URL")


CHANGELOG_ITEM = re.compile(r"^- (?P<kind>[A-Z][a-z]+): (?P<text>.*)$")


def changelog_entries(text: str, version: str) -> list[tuple[str, str]] | None:
    """The `- Kind: description` items under `## <version>` in a CHANGELOG.md, or None without
    that heading. Indented lines continue the item above."""
    lines = text.splitlines()
    try:
        start = lines.index(f"## {version}")
    except ValueError:
        return None
    items: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if m := CHANGELOG_ITEM.match(line):
            items.append([m["kind"].lower(), m["text"]])
        elif items and line.startswith("  ") and line.strip():
            items[-1][1] += " " + line.strip()
    return [(kind, " ".join(desc.split())) for kind, desc in items]


def changelog_problem(path: Path, version: str, annotations: dict) -> str | None:
    """Why CHANGELOG.md disagrees with the version's `artifacthub.io/changes`, or None."""
    if not path.is_file():
        return f"no {path.name} beside the version folders"
    listed = changelog_entries(path.read_text(encoding="utf-8", errors="replace"), version)
    if listed is None:
        return f"{path.name} has no `## {version}` section"
    wanted = changes(annotations)
    if wanted is None or listed == wanted:
        return None
    if len(listed) != len(wanted):
        return (f"{path.name} `## {version}` lists {len(listed)} change(s), the {PREFIX}changes "
                f"annotation {len(wanted)}")
    (kind, text), (want_kind, want_text) = next((a, b) for a, b in zip(listed, wanted) if a != b)
    return (f"{path.name} `## {version}` says {kind.capitalize()}: {text!r} where the {PREFIX}changes "
            f"annotation says {want_kind.capitalize()}: {want_text!r}")


def repo_metadata_problems(path: Path) -> list[str]:
    """What is wrong with an artifacthub-repo.yml (format: Artifact Hub's repositories guide)."""
    if not path.is_file():
        return [f"no {path.name}: Artifact Hub reads it from the folder a repository is registered at"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        return [f"invalid YAML: {str(e).splitlines()[0]}"]
    if not isinstance(data, dict):
        return ["expected a mapping with owners (and repositoryID once registered)"]
    found = [f"unknown key {k!r} (known: ignore, owners, repositoryID)" for k in sorted(data)
             if k not in ("repositoryID", "owners", "ignore")]
    if "repositoryID" in data:
        try:
            uuid.UUID(str(data["repositoryID"]))
        except ValueError:
            found.append(f"repositoryID {data['repositoryID']!r} is not the UUID Artifact Hub shows for the repository")
    owners = data.get("owners")
    if not isinstance(owners, list) or not owners or not all(
            isinstance(o, dict) and o.get("name") and o.get("email") for o in owners):
        found.append("owners must list at least one {name, email}")
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(i, dict) and i.get("name") for i in ignore):
        found.append("ignore must list {name, version (a regular expression, optional)}")
    return found
