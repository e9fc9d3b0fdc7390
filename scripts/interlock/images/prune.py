"""Prune rules: which paths an image leaves out. One syntax for both kinds of image: the base's
Debian packages (images/base/prune.txt, applied while the .debs are unpacked) and an integration
image's installed Python packages (images/<name>/prune.txt, applied to /opt/interlock/site in the
install stage of steps.Containerfile, before byte-compiling).

One rule per line, `#` starts a comment: `dir/` removes a folder, anything else is an fnmatch glob
(`*` crosses folders), `!glob` keeps paths that another rule would remove.

Standard library only: the image build runs this file inside the build container as
`python3 prune.py RULES ROOT`.
"""
from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path


def read_rules(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()
            if line.split("#", 1)[0].strip()]


def _matches(name: str, rule: str) -> bool:
    if rule.endswith("/"):
        return name == rule[:-1] or name.startswith(rule)
    return fnmatch.fnmatchcase(name, rule)


def pruned(name: str, rules: list[str]) -> bool:
    if any(_matches(name, r[1:]) for r in rules if r.startswith("!")):
        return False
    return any(_matches(name, r) for r in rules if not r.startswith("!"))


def prune_tree(root: Path, rules: list[str]) -> tuple[int, int]:
    """Delete every file under `root` whose path relative to it is pruned, then the folders left
    empty; returns (files, bytes) removed."""
    files = size = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if pruned(path.relative_to(root).as_posix(), rules):
                size += path.lstat().st_size
                path.unlink()
                files += 1
    for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)
    return files, size


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 prune.py RULES ROOT", file=sys.stderr)
        return 2
    rules, root = read_rules(Path(argv[0])), Path(argv[1])
    files, size = prune_tree(root, rules)
    print(f"pruned {files} files ({size / 1e6:.1f} MB) from {root} by {len(rules)} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
