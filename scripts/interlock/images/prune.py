"""Prune rules: the paths an image leaves out, one rule per line.

`dir/` removes a folder, anything else is an fnmatch glob (`*` crosses folders); `!glob` keeps
paths that another rule would remove; `#` starts a comment. images/base/prune.txt applies them
while the .debs are unpacked; images/<name>/prune.txt, when an integration image has one, to
its installed packages (paths relative to the site folder).

For the second use this file also runs on its own, with the standard library only, inside the
image's install stage (the `interlock` package is not installed there):

    python3 prune.py RULES ROOT    # remove what RULES name under ROOT

Every removing rule must match something: a rule that matches nothing means the packages
changed under it, and the list must be looked at again (exit 1, naming the rule).
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


def matches(name: str, rule: str) -> bool:
    if rule.endswith("/"):
        return name == rule[:-1] or name.startswith(rule)
    return fnmatch.fnmatchcase(name, rule)


def pruned(name: str, rules: list[str]) -> bool:
    if any(matches(name, r[1:]) for r in rules if r.startswith("!")):
        return False
    return any(matches(name, r) for r in rules if not r.startswith("!"))


def prune_tree(root: Path, rules: list[str]) -> tuple[int, list[str]]:
    """Remove every file under root that the rules prune, then the pruned folders left empty:
    (files removed, removing rules that matched nothing). Symlinks count as files."""
    removed = 0
    used: set[str] = set()
    folders: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        relative = base.relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        links = [d for d in dirs if (base / d).is_symlink()]
        folders += [(prefix + d, base / d) for d in dirs if d not in links]
        for name in files + links:
            path = prefix + name
            if pruned(path, rules):
                used.update(r for r in rules if not r.startswith("!") and matches(path, r))
                (base / name).unlink()
                removed += 1
    for path, folder in sorted(folders, key=lambda item: -len(item[0])):  # deepest first
        if pruned(path, rules) and not any(folder.iterdir()):
            folder.rmdir()
    unused = [r for r in rules if not r.startswith("!") and r not in used]
    return removed, unused


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 prune.py RULES ROOT", file=sys.stderr)
        return 2
    rules_file, root = Path(argv[0]), Path(argv[1])
    removed, unused = prune_tree(root, read_rules(rules_file))
    if unused:
        print(f"{rules_file}: rule(s) matching nothing under {root}: {', '.join(unused)} "
              "(the packages changed: update the list)", file=sys.stderr)
        return 1
    print(f"pruned {removed} file(s) under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
