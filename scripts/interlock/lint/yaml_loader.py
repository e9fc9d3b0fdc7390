"""The one YAML loader of every `interlock` command (lint, run, index, docs): one file's data
plus the line of every node, addressed by the same document path the findings print
(`spec.steps[1].env[0]`).

YAML files are untrusted input (a pull request, an example from the internet), so the loader
caps what a file may cost before building anything from it, and says which cap it hit:
- size: MAX_BYTES, the kube-apiserver's request body limit (3 MiB); a Tekton object cannot
  be larger in a cluster;
- depth: MAX_DEPTH nested collections (Tekton resources need about 15; deep nesting would
  otherwise exhaust Python's recursion limit);
- aliases: an alias may not refer to the collection it sits in, and aliases together may not
  add more than MAX_ALIAS_NODES nodes (a "billion laughs" document is a few hundred bytes
  that expand to billions of nodes when anything walks the data).
The caps are checked on the parser's event stream, which costs no recursion and no memory
for the expansion.

Never raises for bad input: a file that is unreadable, not UTF-8, not YAML, over a cap, empty
or has several documents comes back as a LoadProblem naming the rule and the line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Key = tuple[str | int, ...]  # document path as keys and list indexes

MAX_BYTES = 3 * 1024 * 1024   # kube-apiserver --max-request-body-bytes default (3 MiB)
MAX_DEPTH = 100               # nested mappings/sequences
MAX_ALIAS_NODES = 100_000     # nodes that aliases may add to a document
# libyaml when present: 5x faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    start_line: int = 1  # where the document starts in its file (several share one file)

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


class _Limit(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str):
        self.line = mark.line + 1 if mark else 1
        self.message = message


def _check_limits(text: str) -> None:
    """Raise _Limit when the document is nested too deep or its aliases expand too far.

    Walks the parser's events (no composing): each collection's size is known when it ends,
    so an alias adds the size of what it refers to without anything being expanded."""
    depth = added = nodes = 0
    anchors: dict[str, int] = {}          # anchor -> nodes of what it names
    open_: list[tuple[str | None, int]] = []  # collections being read: (anchor, nodes before)
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Limit(event.start_mark, f"nested more than {MAX_DEPTH} levels deep "
                                               f"(the loader's limit)")
            open_.append((event.anchor, nodes))
            nodes += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, before = open_.pop()
            if anchor is not None:
                anchors[anchor] = nodes - before
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(event.anchor == a for a, _ in open_):
                raise _Limit(event.start_mark, f"alias *{event.anchor} refers to a collection "
                                               "that contains it (a recursive document)")
            size = anchors.get(event.anchor, 1)  # an unknown anchor is the composer's error
            nodes += size
            added += size
            if added > MAX_ALIAS_NODES:
                raise _Limit(event.start_mark, f"aliases expand the document by more than "
                                               f"{MAX_ALIAS_NODES} nodes (the loader's limit; "
                                               "an alias bomb?)")
        elif isinstance(event, yaml.DocumentStartEvent):
            anchors.clear()  # anchors do not cross documents


def read_text(path: Path) -> tuple[str | None, LoadProblem | None]:
    """The file's text, or the problem: unreadable, larger than MAX_BYTES, not UTF-8."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        return None, LoadProblem("yaml-syntax", 1, f"cannot read: {e.strerror or e}",
                                 "check the path and its permissions")
    if len(raw) > MAX_BYTES:
        return None, LoadProblem("yaml-syntax", 1, f"larger than {MAX_BYTES} bytes (the loader's "
                                 "limit, as the Kubernetes API server's)",
                                 "a Tekton resource is far smaller: check the file")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, LoadProblem("not-utf8", line, f"not UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start}",
                                 "save the file as UTF-8")


def load(path: Path) -> tuple[Document | None, LoadProblem | None]:
    """The single document in path, or the problem that prevents reading it."""
    text, problem = read_text(Path(path))
    if text is None:
        return None, problem
    return parse(text)


def load_all(path: Path) -> tuple[list[Document], LoadProblem | None]:
    """Every non-empty document in path (as `kubectl apply -f` reads a file), or the problem."""
    text, problem = read_text(Path(path))
    if text is None:
        return [], problem
    return parse_all(text)


def parse(text: str) -> tuple[Document | None, LoadProblem | None]:
    """The single document in text, or the problem that prevents reading it."""
    docs, problem = parse_all(text, skip_empty=False)
    if problem is not None:
        return None, problem
    if len(docs) > 1:
        return None, LoadProblem(
            "multi-document", docs[1].start_line,
            f"{len(docs)} YAML documents in one file; the catalog reads exactly one",
            "split the file: one resource per file")
    return docs[0], None


def parse_all(text: str, skip_empty: bool = True) -> tuple[list[Document], LoadProblem | None]:
    """The documents in text, empty ones (a trailing `---`) left out as kubectl leaves them
    unless `skip_empty` is false; line numbers count from the start of the file."""
    try:
        _check_limits(text)
    except _Limit as e:
        return [], LoadProblem("yaml-syntax", e.line, f"YAML over a limit: {e.message}",
                               "write the resource out plainly: no deep nesting, no alias chains")
    except yaml.YAMLError:
        pass  # a syntax error: composing reports it with its line
    loader = _LOADER(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if skip_empty and isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
                continue  # an empty document
            data = loader.construct_document(node)
            lines: dict[Key, int] = {}
            blocks: dict[Key, int] = {}
            _record(node, (), lines, blocks)
            docs.append(Document(data, lines, text, blocks, node.start_mark.line + 1))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(f"{e.context or ''} {e.problem or ''}".split())
        return [], LoadProblem("yaml-syntax", line, f"invalid YAML: {problem}",
                               "fix the indentation/quoting at that line")
    except yaml.YAMLError as e:
        return [], LoadProblem("yaml-syntax", 1, f"invalid YAML: {' '.join(str(e).split())}",
                               "fix the YAML syntax")
    except (ValueError, OverflowError) as e:  # a value no type can hold (a 5000-digit int, 2024-13-45)
        return [], LoadProblem("yaml-syntax", 1, f"invalid YAML value: {' '.join(str(e).split())[:200]}",
                               "quote the value to keep it a string")
    finally:
        loader.dispose()
    if not docs and not skip_empty:
        return [], LoadProblem("yaml-syntax", 1, "empty file: no YAML document",
                               "write one Tekton resource, or delete the file")
    return docs, None
