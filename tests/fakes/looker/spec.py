"""Check the fake's answers, and the requests it receives, against Looker's API 4.0 OpenAPI document.

The document lives beside the repository (interlock.paths.REFERENCE), never inside it.
`reference_spec()` loads it once for every fake in a process; when it is absent the fake runs
unchecked, unless REQUIRE_REFERENCE_ENV is set (`make test` sets it), which makes its absence
an error instead of a silent skip.

OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` widens the type to null, and the
Looker document also uses `type: any` / `format: any`. `as_json_schema` rewrites both. With
`strict=True` every object that declares `properties` is closed (no extra keys), so a field
name the fake invents or misspells fails validation instead of slipping through. Request
bodies are checked with `readOnly` properties removed (OpenAPI 3.0: they "SHOULD NOT be sent
as part of the request"), and formats the document uses (`date-time`, `date`, `int64`) are
checked too (jsonschema checks no format unless asked, and `date-time` needs a checker).
"""
from __future__ import annotations

import datetime
import functools
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a spec is checked: the fake's container image has no jsonschema
    import jsonschema

SPEC_RELATIVE_PATH = Path("looker") / "Looker.4.0.oas.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
from ..reference import reference_file

# RFC 3339 section 5.6 date-time (what JSON Schema's "date-time" means), then a calendar check.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time such as 2026-01-31T08:00:00Z")
    datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # month 13, hour 25: ValueError
    return True


def _is_date(value: Any) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"{value!r} is not a full-date such as 2026-01-31")
        datetime.date.fromisoformat(value)
    return True


def _is_int64(value: Any) -> bool:
    return not isinstance(value, int) or -(2 ** 63) <= value < 2 ** 63


@functools.cache
def formats() -> "jsonschema.FormatChecker":
    """The formats the document uses, checked (built when a spec is first checked)."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    checker.checks("date", raises=ValueError)(_is_date)
    checker.checks("int64")(_is_int64)
    return checker


def as_json_schema(node: Any, strict: bool, request: bool = False) -> Any:
    """Rewrite one OpenAPI 3.0 schema node (recursively) into draft 2020-12 JSON Schema;
    `request=True` drops readOnly properties, which a request must not carry."""
    if isinstance(node, list):
        return [as_json_schema(item, strict, request) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_json_schema(value, strict, request) for key, value in node.items()
           if key not in ("nullable", "x-looker-nullable", "example", "discriminator", "xml")}
    if request and isinstance(node.get("properties"), dict):
        out["properties"] = {name: value for name, value in out["properties"].items()
                             if not (isinstance(node["properties"][name], dict)
                                     and node["properties"][name].get("readOnly") is True)}
        if "required" in out:
            out["required"] = [name for name in out["required"] if name in out["properties"]]
    if out.get("type") == "any":
        del out["type"]
    if out.get("format") == "any":
        del out["format"]
    if node.get("nullable") is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    if node.get("nullable") is True and "$ref" in out:
        out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    raw: dict[str, Any]

    @property
    def statuses(self) -> list[str]:
        return list(self.raw.get("responses", {}))


class LookerSpec:
    """The operations, request and response schemas of one Looker OpenAPI document."""

    def __init__(self, path: Path, strict: bool = True) -> None:
        self.path = path
        self.strict = strict
        self._validators: dict[tuple, jsonschema.Draft202012Validator | None] = {}
        try:
            self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"Looker OpenAPI document not found: {path}") from exc

    @cached_property
    def operations(self) -> dict[str, Operation]:
        found: dict[str, Operation] = {}
        for path, item in self.document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    op = item[method]
                    found[op["operationId"]] = Operation(op["operationId"], method.upper(), path, op)
        return found

    @cached_property
    def _components(self) -> dict[str, Any]:
        schemas = self.document.get("components", {}).get("schemas", {})
        return {"schemas": {name: as_json_schema(schema, self.strict) for name, schema in schemas.items()}}

    @cached_property
    def _request_components(self) -> dict[str, Any]:
        schemas = self.document.get("components", {}).get("schemas", {})
        return {"schemas": {name: as_json_schema(schema, self.strict, request=True)
                            for name, schema in schemas.items()}}

    def operation(self, operation_id: str) -> Operation:
        try:
            return self.operations[operation_id]
        except KeyError:
            raise KeyError(f"operation {operation_id!r} is not in {self.path}") from None

    def response_schema(self, operation_id: str, status: int, content_type: str = "application/json") -> dict[str, Any] | None:
        """The JSON Schema for one declared answer, or None when the answer has no body.

        Statuses the operation does not declare (401 is never declared by Looker's document)
        fall back to the shared `Error` schema, which is what Looker sends for them.
        """
        responses = self.operation(operation_id).raw["responses"]
        declared = responses.get(str(status))
        if declared is None:
            return self._with_components({"$ref": "#/components/schemas/Error"})
        content = declared.get("content") or {}
        if not content:
            return None
        media = content.get(content_type) or content.get("application/json") or next(iter(content.values()))
        return self._with_components(as_json_schema(media["schema"], self.strict))

    def request_schema(self, operation_id: str, content_type: str = "application/json") -> dict[str, Any] | None:
        """The JSON Schema of the operation's request body, or None when it takes none."""
        content = (self.operation(operation_id).raw.get("requestBody") or {}).get("content") or {}
        if not content:
            return None
        media = content.get(content_type) or next(iter(content.values()))
        return {**as_json_schema(media["schema"], self.strict, request=True), "components": self._request_components}

    def _with_components(self, schema: dict[str, Any]) -> dict[str, Any]:
        # $ref "#/components/schemas/X" resolves against the root we hand to the validator.
        return {**schema, "components": self._components}

    def _validator(self, key: tuple, schema: Any) -> jsonschema.Draft202012Validator | None:
        if key not in self._validators:
            import jsonschema

            found = schema()
            self._validators[key] = None if found is None else jsonschema.Draft202012Validator(
                found, format_checker=formats())
        return self._validators[key]

    def validate(self, operation_id: str, status: int, body: Any, content_type: str = "application/json") -> list[str]:
        """Every way the answer `body` breaks the schema of (operation, status); empty when it conforms."""
        validator = self._validator(("response", operation_id, status, content_type),
                                    lambda: self.response_schema(operation_id, status, content_type))
        if validator is None:
            return [] if body in (None, b"", "") else [f"{operation_id} {status}: declared without a body, got {body!r:.80}"]
        return _problems(f"{operation_id} {status}", validator, body)

    def validate_request(self, operation_id: str, query: dict[str, str], body: Any,
                         content_type: str = "application/json") -> list[str]:
        """Every way a request breaks the operation: undeclared or malformed query parameters, and a
        body that does not fit its requestBody (or one sent to an operation that takes none)."""
        where = f"{operation_id} request"
        operation = self.operation(operation_id).raw
        declared = {p["name"]: p.get("schema") or {} for p in operation.get("parameters", []) if p.get("in") == "query"}
        problems = [f"{where}: query parameter {name!r} is not declared (declared: {', '.join(sorted(declared)) or 'none'})"
                    for name in sorted(set(query) - set(declared))]
        for name, text in sorted(query.items()):
            kind = declared.get(name, {}).get("type")
            if kind == "boolean" and text not in ("true", "false"):
                problems.append(f"{where}: query parameter {name!r} must be true or false, got {text!r}")
            elif kind == "integer" and not re.fullmatch(r"-?\d+", text):
                problems.append(f"{where}: query parameter {name!r} must be an integer, got {text!r}")
        if body is None:
            if (operation.get("requestBody") or {}).get("required"):
                problems.append(f"{where}: the request body is required")
            return problems
        media = content_type.split(";")[0].strip() or "application/json"
        validator = self._validator(("request", operation_id, media), lambda: self.request_schema(operation_id, media))
        if validator is None:
            return [*problems, f"{where}: takes no body, got {body!r:.80}"]
        return [*problems, *_problems(where, validator, body)]


def _problems(where: str, validator: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    return [f"{where}: at {'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))]


@functools.cache
def reference_spec(reference_root: Path) -> LookerSpec | None:
    """The document under reference_root, parsed once per process; None when it is absent,
    or FileNotFoundError when REQUIRE_REFERENCE_ENV says it must be there."""
    path = reference_file(reference_root / SPEC_RELATIVE_PATH, "Looker OpenAPI document")
    return LookerSpec(path) if path else None
