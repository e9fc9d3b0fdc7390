"""Check fake answers against the upstream Looker API 4.0 OpenAPI document.

The document lives beside the repository (interlock.paths.REFERENCE), never inside it, so
everything here takes the path as an argument and callers decide what to do when it is absent.

OpenAPI 3.0 schemas are not JSON Schema: `nullable: true` widens the type to null, and the
Looker document also uses `type: any` / `format: any`. `as_json_schema` rewrites both. With
`strict=True` every object that declares `properties` is closed (no extra keys), so a field
name the fake invents or misspells fails validation instead of slipping through.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a spec is checked: the fake's container image has no jsonschema
    import jsonschema

SPEC_RELATIVE_PATH = Path("looker") / "Looker.4.0.oas.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def as_json_schema(node: Any, strict: bool) -> Any:
    """Rewrite one OpenAPI 3.0 schema node (recursively) into draft 2020-12 JSON Schema."""
    if isinstance(node, list):
        return [as_json_schema(item, strict) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_json_schema(value, strict) for key, value in node.items()
           if key not in ("nullable", "x-looker-nullable", "example", "discriminator", "xml")}
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
    """The operations and response schemas of one Looker OpenAPI document."""

    def __init__(self, path: Path, strict: bool = True) -> None:
        self.path = path
        self.strict = strict
        self._validators: dict[tuple[str, int, str], jsonschema.Draft202012Validator | None] = {}
        try:
            self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"Looker OpenAPI document not found: {path}") from exc

    @classmethod
    def from_reference(cls, reference_root: Path, strict: bool = True) -> "LookerSpec":
        return cls(reference_root / SPEC_RELATIVE_PATH, strict=strict)

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

    def _with_components(self, schema: dict[str, Any]) -> dict[str, Any]:
        # $ref "#/components/schemas/X" resolves against the root we hand to the validator.
        return {**schema, "components": self._components}

    def _validator(self, operation_id: str, status: int, content_type: str) -> jsonschema.Draft202012Validator | None:
        key = (operation_id, status, content_type)
        if key not in self._validators:
            import jsonschema

            schema = self.response_schema(operation_id, status, content_type)
            self._validators[key] = None if schema is None else jsonschema.Draft202012Validator(schema)
        return self._validators[key]

    def validate(self, operation_id: str, status: int, body: Any, content_type: str = "application/json") -> list[str]:
        """Every way `body` breaks the schema of (operation, status); empty when it conforms."""
        validator = self._validator(operation_id, status, content_type)
        if validator is None:
            return [] if body in (None, b"", "") else [f"{operation_id} {status}: declared without a body, got {body!r:.80}"]
        return [
            f"{operation_id} {status}: at {'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        ]
