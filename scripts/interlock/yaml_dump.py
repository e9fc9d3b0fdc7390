"""YAML written for people to read: `|` blocks for multi-line strings, no anchors or aliases,
keys in the order given. Used for the files Interlock generates (StepActions, e2e manifests)."""
from __future__ import annotations

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


_Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v,
                                                             style="|" if "\n" in v else None))


def dump(doc: dict, width: int = 80) -> str:
    # width 80: PyYAML may run a word past it, and yamllint allows 120 columns
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=width, allow_unicode=True)
