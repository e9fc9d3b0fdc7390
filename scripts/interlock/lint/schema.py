"""Structural validation against the project's own Tekton JSON Schemas (rule `schema`), and the
`format: duration` the schemas put on every timeout (rule `duration`)."""
from __future__ import annotations

import difflib
import json
from functools import cache
from typing import Any, Iterator

import jsonschema

from interlock import go_duration, schemas
from interlock.lint.yaml_loader import Document, Key

FORMATS = jsonschema.FormatChecker(formats=())
DURATION_HINT = ("write a Go duration: a number with a unit, e.g. 90s, 10m, 1h30m, 500ms "
                 "(units ns, us, ms, s, m, h; \"0\" means no timeout)")


@FORMATS.checks("duration", raises=ValueError)
def _duration(value: Any) -> bool:
    if isinstance(value, str) and go_duration.parse(value) < 0:
        raise ValueError("Tekton refuses a negative timeout")
    return True

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


@cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schemas.load(api_version, kind), format_checker=FORMATS)


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def problems(doc: Document, api_version: str, kind: str) -> Iterator[tuple[Key, str, str]]:
    """(document path, message, hint) for each way doc breaks the schema of its kind."""
    for key, _rule, message, hint in findings(doc, api_version, kind):
        yield key, message, hint


def findings(doc: Document, api_version: str, kind: str) -> Iterator[tuple[Key, str, str, str]]:
    """(document path, rule, message, hint): `problems` with the rule, `schema` or `duration`."""
    for error in _validator(api_version, kind).iter_errors(doc.data):
        at: Key = tuple(error.absolute_path)
        check, value = error.validator, error.instance
        if check == "additionalProperties" and isinstance(value, dict):
            allowed = sorted((error.schema.get("properties") or {}))
            for name in sorted(k for k in value if k not in allowed):
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f"did you mean `{close[0]}`?" if close else \
                    f"remove it; allowed here: {', '.join(allowed) or 'nothing'}"
                yield at + (name,), "schema", f"unknown field `{name}` in {kind}", hint
        elif check == "format" and error.validator_value == "duration":
            yield at, "duration", f"{_short(value)} is not a valid timeout: {error.cause}", DURATION_HINT
        elif check == "required":
            yield at, "schema", error.message.replace("is a required property", "is required"), \
                "add the field (see the Tekton docs for this kind)"
        elif check == "enum":
            yield at, "schema", f"{_short(value)} is not one of {', '.join(map(str, error.validator_value))}", \
                f"use one of: {', '.join(map(str, error.validator_value))}"
        elif check == "type":
            want = error.validator_value
            want = " or ".join(want) if isinstance(want, list) else want
            yield at, "schema", f"expected {want}, found {_type_name(value)} {_short(value)}", \
                f"write a {want} here (quote numbers and booleans meant as strings)"
        elif check == "pattern":
            yield at, "schema", f"{_short(value)} does not match {error.validator_value}", \
                "use lowercase letters, digits and '-' (names) or the documented syntax"
        elif check == "maxLength":
            yield at, "schema", f"{_short(value)} is longer than {error.validator_value} characters", "shorten it"
        else:
            yield at, "schema", " ".join(error.message.split())[:200], "fix the value to match the Tekton API"
