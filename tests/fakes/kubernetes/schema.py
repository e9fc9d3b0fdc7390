"""Validate and prune a custom object against its CRD's structural `openAPIV3Schema`, as the API
server does on every create, update and patch.

What it implements, each as the API server behaves (k8s.io/apiextensions-apiserver, structural
schemas; kube-openapi's validator for the messages):
- pruning: a field the schema does not declare is dropped (unless the object or a parent says
  `x-kubernetes-preserve-unknown-fields`), and a `null` in a field that is not `nullable` is dropped
  too; the dropped paths are returned so the server can warn or, with `fieldValidation=Strict`,
  refuse (400);
- `type`, `required`, `enum`, `minimum`, `maximum`, `maxItems`, `maxLength`, `maxProperties`,
  `format` (int32, int64, double, byte, date-time), `x-kubernetes-int-or-string`,
  `additionalProperties`, `items`, and `oneOf`/`anyOf`/`allOf`/`not` as value validations;
- `x-kubernetes-validations`: the CEL rules the Istio CRDs use, by their exact text (CEL itself is
  not implemented). A rule not in `CEL_RULES` is recorded in `unchecked_rules`, never passed
  silently, and the tests assert that the Istio schemas have none.

Field paths are written as the API server writes them: `spec.http[0].route[1].weight`.
"""
from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .status import Cause

_DURATION = re.compile(r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def go_duration(text: str) -> float:
    """Seconds in a Go duration string ("1.5s", "300ms", "1h2m"), as CEL's duration() parses it."""
    if not isinstance(text, str):
        raise ValueError(f"not a string: {text!r}")
    rest, sign = text, 1.0
    if rest[:1] in "+-":
        sign, rest = (-1.0 if rest[0] == "-" else 1.0), rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    while rest:
        match = _DURATION.match(rest)
        if not match:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(3)]
        rest = rest[match.end():]
    return sign * total


def _at_least_1ms(value: Any) -> bool:
    try:
        return go_duration(value) >= 1e-3
    except ValueError:
        return False


# CEL rules of the Istio networking CRDs, by their exact text, as Python predicates over `self`.
CEL_RULES: dict[str, Callable[[Any], bool]] = {
    "duration(self) >= duration('1ms')": _at_least_1ms,
    'self.all(key, !key.contains("*"))': lambda value: all("*" not in key for key in value),
    "self.all(key, key.size() != 0)": lambda value: all(len(key) != 0 for key in value),
    '!self.contains("*")': lambda value: "*" not in value,
}


@dataclass
class Outcome:
    value: Any
    causes: list[Cause] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    unchecked_rules: list[str] = field(default_factory=list)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (dict, list)):
        return f'"{_json_type(value)}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _type_ok(value: Any, expected: str) -> bool:
    actual = _json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _format_ok(value: Any, fmt: str) -> bool:
    if fmt == "int32" and isinstance(value, int):
        return INT32[0] <= value <= INT32[1]
    if fmt == "int64" and isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if fmt == "byte" and isinstance(value, str):
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return False
        return True
    if fmt == "date-time" and isinstance(value, str):
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return True


class _Walker:
    def __init__(self) -> None:
        self.causes: list[Cause] = []
        self.pruned: list[str] = []
        self.unchecked: list[str] = []

    def invalid(self, path: str, value: Any, detail: str, reason: str = "FieldValueInvalid") -> None:
        self.causes.append(Cause(reason, f"Invalid value: {_shown(value)}: {detail}", path))

    def walk(self, value: Any, schema: dict[str, Any], path: str, preserve: bool) -> Any:
        preserve = preserve or bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        if value is None:
            return value  # non-nullable nulls were dropped by the parent; a nullable one is valid
        expected = schema.get("type")
        int_or_string = schema.get("x-kubernetes-int-or-string")
        if int_or_string and _json_type(value) not in ("integer", "string"):
            self.causes.append(Cause("FieldValueTypeInvalid", f"Invalid value: {_shown(value)}: {path} in body must be "
                                     f"of type integer or string: {_shown(value)}", path))
            return value
        if expected and not _type_ok(value, expected):
            self.causes.append(Cause("FieldValueTypeInvalid", f"Invalid value: {_shown(value)}: {path} in body must be "
                                     f"of type {expected}: {_shown(value)}", path))
            return value
        if isinstance(value, dict):
            value = self._object(value, schema, path, preserve)
        elif isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                value = [self.walk(item, items, f"{path}[{i}]", preserve) for i, item in enumerate(value)
                         if not self._drop_null(item, items, f"{path}[{i}]")]
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                self.causes.append(Cause("FieldValueTooMany", f"Too many: {len(value)}: must have at most "
                                         f"{schema['maxItems']} items", path))
        self._scalar_checks(value, schema, path)
        self._combinators(value, schema, path)
        for rule in schema.get("x-kubernetes-validations") or []:
            check = CEL_RULES.get(rule.get("rule", ""))
            if check is None:
                self.unchecked.append(f"{path}: {rule.get('rule')}")
            elif not check(value):
                self.invalid(path, value, rule.get("message") or f"failed rule: {rule['rule']}")
        return value

    def _drop_null(self, value: Any, schema: dict[str, Any], path: str) -> bool:
        if value is None and not schema.get("nullable"):
            self.pruned.append(path)
            return True
        return False

    def _object(self, value: dict, schema: dict[str, Any], path: str, preserve: bool) -> dict:
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if properties is not None and key in properties:
                if not self._drop_null(item, properties[key], child):
                    out[key] = self.walk(item, properties[key], child, preserve)
            elif isinstance(additional, dict):
                entry = f"{path}[{key}]"
                if not self._drop_null(item, additional, entry):
                    out[key] = self.walk(item, additional, entry, preserve)
            elif additional is True or preserve or (properties is None and additional is None):
                out[key] = item
            else:
                self.pruned.append(child)
        for name in schema.get("required") or []:
            if name not in out:
                self.causes.append(Cause("FieldValueRequired", "Required value", f"{path}.{name}" if path else name))
        if "maxProperties" in schema and len(out) > schema["maxProperties"]:
            self.causes.append(Cause("FieldValueTooMany", f"Too many: {len(out)}: must have at most "
                                     f"{schema['maxProperties']} items", path))
        return out

    def _scalar_checks(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(_shown(v) for v in schema["enum"])
            self.causes.append(Cause("FieldValueNotSupported", f"Unsupported value: {_shown(value)}: supported values: "
                                     f"{allowed}", path))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                self.invalid(path, value, f"{path} in body should be greater than or equal to {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                self.invalid(path, value, f"{path} in body should be less than or equal to {schema['maximum']}")
        if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
            self.causes.append(Cause("FieldValueTooLong", f"Too long: may not be longer than {schema['maxLength']}", path))
        fmt = schema.get("format")
        if fmt and not _format_ok(value, fmt):
            self.invalid(path, value, f"{path} in body must be of type {fmt}: {_shown(value)}")

    def _matches(self, value: Any, schema: dict[str, Any], path: str) -> bool:
        probe = _Walker()
        probe.walk(value, schema, path, preserve=True)
        return not probe.causes

    def _combinators(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if "oneOf" in schema:
            hits = sum(self._matches(value, option, path) for option in schema["oneOf"])
            if hits != 1:
                self.invalid(path, value, f"{path} in body must validate one and only one schema (oneOf)"
                             + (". Found none valid" if hits == 0 else f". Found {hits} valid alternatives"))
        if "anyOf" in schema and not any(self._matches(value, option, path) for option in schema["anyOf"]):
            self.invalid(path, value, f"{path} in body must validate at least one schema (anyOf)")
        for option in schema.get("allOf") or []:
            if not self._matches(value, option, path):
                self.invalid(path, value, f"{path} in body must validate all the schemas (allOf)")
        if "not" in schema and self._matches(value, schema["not"], path):
            self.invalid(path, value, f"{path} in body must not validate the schema (not)")


def validate(obj: dict[str, Any], schema: dict[str, Any]) -> Outcome:
    """The object pruned to its schema, with every field error and every pruned path.

    apiVersion, kind and metadata belong to the API machinery, not to the CRD schema: they are kept
    as they are (metadata is checked separately by the server)."""
    walker = _Walker()
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    pruned = walker.walk(body, {**schema, "properties": {k: v for k, v in (schema.get("properties") or {}).items()
                                                         if k not in ("apiVersion", "kind", "metadata")}}, "", False)
    out = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    out.update(pruned)
    return Outcome(out, walker.causes, walker.pruned, walker.unchecked)


def rules_in(schema: Any) -> list[str]:
    """Every CEL rule text in a schema, for checking that CEL_RULES covers them."""
    found: list[str] = []
    if isinstance(schema, dict):
        found += [rule.get("rule", "") for rule in schema.get("x-kubernetes-validations") or []]
        for value in schema.values():
            found += rules_in(value)
    elif isinstance(schema, list):
        for value in schema:
            found += rules_in(value)
    return found
