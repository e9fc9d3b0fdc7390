"""YAML written for people to read: `|` blocks for multi-line strings, no anchors or aliases,
keys in the order given. Used for the files Interlock generates (StepActions, e2e manifests)."""
from __future__ import annotations

import yaml

# yamllint allows a line over its limit when the line is one word (a URL), not `key: <long word>`
LONG_WORD = 60


class _Dumper(yaml.SafeDumper):
    fold: bool = False

    def ignore_aliases(self, data) -> bool:
        return True


class _Folding(_Dumper):
    fold = True


def _string(dumper: _Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    if dumper.fold and len(value) > LONG_WORD and not any(c.isspace() for c in value):
        style = ">"  # the word on a line of its own
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)
_Folding.add_representer(str, _string)


def dump(doc: dict, width: int = 80, fold_long_words: bool = False) -> str:
    """`fold_long_words`: a string of one long word (a URL, compact JSON) goes on a line of its
    own (`>-`), so the file passes yamllint's line-length rule. StepActions keep `image: <ref>`."""
    # width 80: PyYAML may run a word past it, and yamllint allows 120 columns
    return yaml.dump(doc, Dumper=_Folding if fold_long_words else _Dumper, sort_keys=False, width=width,
                     allow_unicode=True)
