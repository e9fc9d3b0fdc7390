"""Bad input gives findings, never a traceback: every node of the clean fixtures replaced,
one at a time, by a value of each wrong type must still lint without an exception."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from interlock.lint import engine

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = [FIXTURES / "clean/tasks/hello/0.1/hello.yaml",
           FIXTURES / "clean/stepactions/hello-step/0.1/hello-step.yaml",
           FIXTURES / "rules/pipeline-result-never-written.yaml"]
WRONG: list[Any] = [None, 7, "text", ["x"], {"name": 1}]


def _paths(node: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, at + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, at + (i,))


def _set(doc: Any, at: tuple, value: Any) -> Any:
    if not at:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for part in at[:-1]:
        node = node[part]
    node[at[-1]] = value
    return doc


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_traceback_for_any_wrong_type_anywhere(tmp_path, source):
    original = yaml.safe_load(source.read_text(encoding="utf-8"))
    relative = source.relative_to(FIXTURES / "clean") if "clean" in source.parts else Path(source.name)
    target_path = tmp_path / relative
    target_path.parent.mkdir(parents=True, exist_ok=True)
    checked = 0
    for at in _paths(original):
        for value in WRONG:
            target_path.write_text(yaml.safe_dump(_set(original, at, value)), encoding="utf-8")
            found, _ = engine.lint([engine.classify(target_path, tmp_path)], tmp_path, None)
            assert all(f.rule and f.message and f.line >= 0 for f in found)
            checked += 1
    assert checked > 100  # the walk really mutated the document
