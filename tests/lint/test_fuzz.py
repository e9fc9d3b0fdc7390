"""Lint never answers with a traceback: a few hundred seeded mutations of each catalog file (its
data: a node replaced by a value of another type, removed, or emptied; its text: a line deleted,
duplicated or cut) must each lint to exit 0 or 1 with findings, never an exception. The mutated
file sits in a copy of its catalog folder (README and samples beside it), so every rule runs."""
from __future__ import annotations

import copy
import json
import random
import shutil
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from interlock.lint.command import lint
from tests.lint.test_robustness import _paths

ROOT = Path(__file__).parents[2]
CATALOG_FILES = sorted(p for p in (ROOT / "tasks").glob("*/*/*.yaml")) + \
    sorted(p for p in (ROOT / "tasks").glob("*/*/samples/*.yaml"))
MUTATIONS_PER_FILE = 300
SEED = 20261128
ODD: list[Any] = [None, 0, -1, 3.5, True, "", "text", "$(params.", "$(params.nope)", "ü\u2028", [], ["x"], [None],
                  [1, 2], {}, {"name": 1}, {"name": None}, {"x": {"y": []}}, "0" * 300]


def _mutate_data(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    at = rng.choice([p for p in _paths(doc) if p])
    parent = doc
    for part in at[:-1]:
        parent = parent[part]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[at[-1]]
    elif action < 0.25 and isinstance(parent, list):
        parent.insert(at[-1], rng.choice(ODD))
    else:
        parent[at[-1]] = copy.deepcopy(rng.choice(ODD))
    return doc


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    action = rng.random()
    if action < 0.4:
        del lines[i]
    elif action < 0.7:
        lines.insert(i, lines[i])
    else:
        cut = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:cut] + rng.choice(["", ":", "- ", "  ", "{", "[", "&a ", "*a", "\t", '"', "!!binary "]) + \
            lines[i][cut:]
    return "".join(lines)


def _catalog_copy(source: Path, tmp_path: Path) -> Path:
    """The file's version folder copied under tmp_path, keeping the tasks/<name>/<version> layout."""
    version = next(p for p in source.parents if p.parent.parent.name == "tasks")
    target = tmp_path / version.relative_to(ROOT)
    shutil.copytree(version, target)
    return target / source.relative_to(version)


@pytest.mark.parametrize("source", CATALOG_FILES, ids=lambda p: str(p.relative_to(ROOT / "tasks")))
def test_no_traceback_for_hundreds_of_mutations(tmp_path, source):
    rng = random.Random(f"{SEED}:{source.relative_to(ROOT)}")
    target = _catalog_copy(source, tmp_path)
    original_text = source.read_text(encoding="utf-8")
    original = yaml.safe_load(original_text)
    runner, codes = CliRunner(), set()
    for n in range(MUTATIONS_PER_FILE):
        text = _mutate_text(original_text, rng) if n % 3 == 2 else \
            yaml.safe_dump(_mutate_data(original, rng), sort_keys=False, allow_unicode=True)
        target.write_text(text, encoding="utf-8")
        result = runner.invoke(lint, ["--format", "json", "--no-tekton-lint", "--root", str(tmp_path), str(target)])
        assert (result.exception is None or isinstance(result.exception, SystemExit)) and result.exit_code in (0, 1), (
            f"mutation {n} of {source.name}: exit {result.exit_code}\n{text}\n"
            + "".join(traceback.format_exception(result.exception)))
        assert all(f["rule"] and f["message"] and f["hint"] for f in json.loads(result.stdout)["findings"])
        codes.add(result.exit_code)
    assert codes == {0, 1} or codes == {1}  # the mutations really broke the file
