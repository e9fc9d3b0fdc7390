"""Pin step images in Task and Pipeline YAML to the digests of the locally built images.

The text is edited in place (only the image reference changes), so comments, quoting and
layout survive. A reference is `localhost/interlock/<name>` followed by `@sha256:<digest>`, a
placeholder such as `@sha256:PLACEHOLDER`, or a `:<tag>`, as the value of an `image:` key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from interlock.images.spec import REPOSITORY
from interlock.lint import yaml_loader

IMAGE_LINE = re.compile(
    r"(?P<lead>^[ \t]*(?:-[ \t]+)?image:[ \t]*[\"']?)"
    + re.escape(REPOSITORY) + r"/(?P<name>[a-z0-9][a-z0-9._-]*)"
    r"(?P<ref>@sha256:[A-Za-z0-9_-]+|:[A-Za-z0-9_][A-Za-z0-9_.-]*)?",
    re.MULTILINE)


@dataclass(frozen=True)
class Change:
    path: Path
    line: int
    name: str
    old: str
    new: str


class PinError(RuntimeError):
    pass


def rewrite(text: str, digests: dict[str, str], path: Path = Path("<text>")
            ) -> tuple[str, list[Change], list[str]]:
    """Return the pinned text, the changes made and the image names that have no digest."""
    changes: list[Change] = []
    unknown: list[str] = []

    def pin(match: re.Match[str]) -> str:
        name = match["name"]
        old = f"{REPOSITORY}/{name}{match['ref'] or ''}"
        digest = digests.get(name)
        if digest is None:
            unknown.append(name)
            return match.group(0)
        new = f"{REPOSITORY}/{name}@{digest}"
        if new != old:
            line = text.count("\n", 0, match.start()) + 1
            changes.append(Change(path, line, name, old, new))
        return match["lead"] + new

    return IMAGE_LINE.sub(pin, text), changes, unknown


def yaml_files(folders: list[Path]) -> list[Path]:
    return sorted(p for folder in folders if folder.is_dir()
                  for pattern in ("*.yaml", "*.yml") for p in folder.rglob(pattern))


def pin_files(files: list[Path], digests: dict[str, str], write: bool
              ) -> tuple[list[Change], dict[Path, list[str]]]:
    """Pin every file; write them only when asked. Returns changes and unbuilt images per file."""
    changes: list[Change] = []
    missing: dict[Path, list[str]] = {}
    for path in files:
        text, problem = yaml_loader.read_text(path)  # the catalog's one loader: size cap, UTF-8
        if text is None:
            raise PinError(f"{path}: cannot read: {problem.message}")
        new, found, unknown = rewrite(text, digests, path)
        changes += found
        if unknown:
            missing[path] = sorted(set(unknown))
        if write and new != text:
            path.write_text(new)
    return changes, missing
