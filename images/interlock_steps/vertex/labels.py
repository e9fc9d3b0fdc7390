"""Vertex AI labels: the user's, and the ones the steps find their own resources by.

Vertex AI label keys and values are at most 63 characters of lowercase letters, digits, `_` and
`-`, keys starting with a letter (Vertex AI docs, "Labeling resources"; the API answers 400
otherwise). The steps check them before any call, so a bad label fails with the param named.
"""
from __future__ import annotations

import json
import re

from interlock_steps.runtime import BadInput

RUN = "interlock-run"        # a custom job's: the run (run-label, or the TaskRun's uid) that created it
SPEC = "interlock-spec"      # a model version's / deployment's: a hash of what was asked for
RESERVED = (RUN, SPEC)
_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def check(key: str, value: str, param: str) -> None:
    if not _KEY.match(key):
        raise BadInput(f"param {param!r}: label key {key!r} must be 1-63 lowercase letters, digits, '_' or '-', "
                       "starting with a letter", param=param)
    if not _VALUE.match(value):
        raise BadInput(f"param {param!r}: label {key}={value!r}: the value must be at most 63 lowercase letters, "
                       "digits, '_' or '-'", param=param)


def parse(text: str) -> dict[str, str]:
    """Param parser: a JSON object, or `key=value` pairs separated by commas or spaces."""
    stripped = text.strip()
    if stripped.startswith("{"):
        value = json.loads(stripped)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError("expected a JSON object of strings")
        return value
    pairs = [item for item in stripped.replace(",", " ").split() if item]
    if any("=" not in item for item in pairs):
        raise ValueError("expected key=value pairs or a JSON object")
    return dict(item.split("=", 1) for item in pairs)


def user_labels(labels: dict[str, str], param: str = "labels") -> dict[str, str]:
    """The user's labels, checked, without the keys the steps keep for themselves."""
    for key, value in labels.items():
        if key in RESERVED:
            raise BadInput(f"param {param!r}: label {key!r} is set by the task itself", param=param)
        check(key, value, param)
    return dict(labels)
