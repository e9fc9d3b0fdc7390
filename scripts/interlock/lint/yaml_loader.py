"""Read one YAML file for linting: its data plus the line of every node, addressed by the
same document path the findings print (`spec.steps[1].env[0]`).

Never raises for bad input: a file that is not UTF-8, not YAML, empty or has several
documents comes back as a LoadProblem naming the rule and the line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Key = tuple[str | int, ...]  # document path as keys and list indexes


def format_path(key: Key) -> str:
    """('spec', 'steps', 1, 'env', 0) -> 'spec.steps[1].env[0]'; a key holding '.' or '/'
    (a label or annotation name) is quoted: metadata.labels["app.kubernetes.io/version"]."""
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        elif any(c in str(part) for c in './ "[]'):
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """One parsed YAML document and the 1-based line of each node in it."""

    data: Any
    lines: dict[Key, int] = field(default_factory=dict)
    text: str = ""
    # literal block scalars (`script: |`): the line their first content line is on
    blocks: dict[Key, int] = field(default_factory=dict)

    def line(self, key: Key) -> int:
        """The line of the node at key, or of its nearest ancestor that exists."""
        key = tuple(key)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def line_in(self, key: Key, offset: int) -> int:
        """The line of character `offset` inside the string at key (exact for `|` blocks)."""
        value = self.value(key)
        if key in self.blocks and isinstance(value, str):
            return self.blocks[key] + value[:offset].count("\n")
        return self.line(key)

    def value(self, key: Key) -> Any:
        node = self.data
        for part in key:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


    def key_at(self, line: int) -> Key | None:
        """The outermost node that starts on line (to place another tool's finding)."""
        keys = [k for k, n in self.lines.items() if n == line]
        return min(keys, key=len) if keys else None


@dataclass
class LoadProblem:
    rule: str  # yaml-syntax | not-utf8 | multi-document | empty
    line: int
    message: str
    hint: str


def _record(node: yaml.Node, key: Key, lines: dict[Key, int], blocks: dict[Key, int]) -> None:
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        blocks[key] = node.start_mark.line + 2  # content starts on the line after `|`
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                # the key's line: that is where a reader looks for `scriptt:`
                lines[key + (k.value,)] = k.start_mark.line + 1
                _record(v, key + (k.value,), lines, blocks)
                lines[key + (k.value,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record(item, key + (i,), lines, blocks)


def load(path: Path) -> tuple[Document | None, LoadProblem | None]:
    """The single document in path, or the problem that prevents reading it."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, LoadProblem("not-utf8", line, f"not UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start}",
                                 "save the file as UTF-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when present: 5x faster
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        if len(nodes) > 1:
            return None, LoadProblem(
                "multi-document", nodes[1].start_mark.line + 1,
                f"{len(nodes)} YAML documents in one file; the catalog reads exactly one",
                "split the file: one resource per file")
        if not nodes:
            return None, LoadProblem("yaml-syntax", 1, "empty file: no YAML document",
                                     "write one Tekton resource, or delete the file")
        data = loader.construct_document(nodes[0])
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(f"{e.context or ''} {e.problem or ''}".split())
        return None, LoadProblem("yaml-syntax", line, f"invalid YAML: {problem}",
                                 "fix the indentation/quoting at that line")
    except yaml.YAMLError as e:
        return None, LoadProblem("yaml-syntax", 1, f"invalid YAML: {' '.join(str(e).split())}",
                                 "fix the YAML syntax")
    finally:
        loader.dispose()
    lines: dict[Key, int] = {}
    blocks: dict[Key, int] = {}
    _record(nodes[0], (), lines, blocks)
    return Document(data, lines, text, blocks), None
