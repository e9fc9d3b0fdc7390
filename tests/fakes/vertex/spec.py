"""Check requests and answers against Vertex AI's discovery document (aiplatform.v1.json).

The document lives beside the repository (interlock.paths.REFERENCE), never in it. Without it the
fake runs unchecked and the tests that need it skip, unless REQUIRE_REFERENCE_ENV is set (`make
test` sets it, as for the Looker document), which turns its absence into an error. It describes each REST method (`resources...methods`:
httpMethod, flatPath, query parameters, request and response schema) and each message
(`schemas`, camelCase JSON with enums as names). `as_json_schema` turns a discovery schema into
draft 2020-12 JSON Schema, strictly:

- objects that declare `properties` are closed (an invented or misspelt field fails);
- a property whose description starts with "Required." is required (discovery has no
  `required` keyword; Google writes it into the description);
- int64/uint64 are decimal strings, `google-duration` is `<seconds>s`, `google-datetime` is
  RFC 3339, `byte` is base64; `type: any` (google.protobuf.Value) accepts anything.

A `google.protobuf.Any` (an operation's `response` or `metadata`, a Status's `details`) is
checked against the schema its `@type` names, when the document has it.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a spec is checked: the fakes' container image has no jsonschema
    import jsonschema

SPEC_RELATIVE_PATH = Path("vertex") / "aiplatform.v1.json"
from ..reference import reference_file
METHOD_PREFIX = "aiplatform.projects.locations."
# Query parameters every method accepts (the document's top-level `parameters`), plus the REST
# transport's `$alt` (the system parameter behind `alt`, e.g. "json;enum-encoding=int").
SYSTEM_QUERY = {"$alt"}
_FORMATS = {
    "int64": r"^-?[0-9]+$",
    "uint64": r"^[0-9]+$",
    "google-duration": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
    "google-datetime": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$",
    "byte": r"^[A-Za-z0-9+/_-]*=*$",
}
_ANY_TYPE = re.compile(r"^type\.googleapis\.com/(?P<name>[\w.]+)$")
# proto package -> discovery schema name prefix
_PACKAGES = {"google.cloud.aiplatform.v1.": "GoogleCloudAiplatformV1", "google.longrunning.": "GoogleLongrunning",
             "google.rpc.": "GoogleRpc", "google.protobuf.": "GoogleProtobuf"}


def schema_name(proto_name: str) -> str | None:
    """`google.cloud.aiplatform.v1.UploadModelResponse` -> `GoogleCloudAiplatformV1UploadModelResponse`."""
    for package, prefix in _PACKAGES.items():
        if proto_name.startswith(package):
            return prefix + proto_name[len(package):].replace(".", "")
    return None


def proto_name(schema: str) -> str | None:
    """The inverse of schema_name for top-level messages."""
    for package, prefix in _PACKAGES.items():
        if schema.startswith(prefix):
            return package + schema[len(prefix):]
    return None


def as_json_schema(node: Any) -> Any:
    """One discovery schema node (recursively) as JSON Schema."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": f"#/$defs/{node['$ref']}"}
    kind, fmt = node.get("type"), node.get("format")
    if kind == "any":
        return {}
    if kind == "object":
        out: dict[str, Any] = {"type": "object"}
        properties = node.get("properties")
        if properties is not None:
            out["properties"] = {name: as_json_schema(value) for name, value in properties.items()}
            required = [name for name, value in properties.items()
                        if str(value.get("description", "")).startswith("Required.")]
            if required:
                out["required"] = required
        if "additionalProperties" in node:
            out["additionalProperties"] = as_json_schema(node["additionalProperties"])
        elif properties is not None:
            out["additionalProperties"] = False
        return out
    if kind == "array":
        return {"type": "array", "items": as_json_schema(node.get("items", {}))}
    if kind == "string":
        out = {"type": "string"}
        if fmt in _FORMATS:
            out["pattern"] = _FORMATS[fmt]
        if "enum" in node:
            out["enum"] = list(node["enum"])
        return out
    if kind == "integer":
        return {"type": "integer", **({"minimum": 0} if fmt == "uint32" else {})}
    if kind in ("number", "boolean"):
        return {"type": kind}
    return {}


@dataclass(frozen=True)
class Method:
    id: str                     # the short id: "customJobs.create", "models.operations.get"
    http_method: str
    flat_path: str              # "v1/projects/{projectsId}/locations/{locationsId}/customJobs"
    request: str | None         # schema names
    response: str | None
    parameters: frozenset[str]  # query parameters the method declares

    @property
    def path_regex(self) -> re.Pattern[str]:
        """The flat path as a regex over request paths (`{x}` matches one segment)."""
        pattern = re.sub(r"\\\{[^/]+?\\\}", r"[^/]+", re.escape("/" + self.flat_path))
        return re.compile(f"^{pattern}$")


class DiscoverySpec:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"Vertex AI discovery document not found: {path}") from exc
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    @classmethod
    def from_reference(cls, reference_root: Path) -> DiscoverySpec:
        return cls(reference_root / SPEC_RELATIVE_PATH)

    @property
    def revision(self) -> str:
        return str(self.document.get("revision", ""))

    @cached_property
    def methods(self) -> dict[str, Method]:
        found: dict[str, Method] = {}
        global_params = frozenset(self.document.get("parameters", {}))

        def walk(resources: dict[str, Any]) -> None:
            for resource in resources.values():
                for method in resource.get("methods", {}).values():
                    if method["id"].startswith(METHOD_PREFIX):
                        short = method["id"][len(METHOD_PREFIX):]
                        found[short] = Method(
                            short, method["httpMethod"], method["flatPath"],
                            method.get("request", {}).get("$ref"), method.get("response", {}).get("$ref"),
                            frozenset(name for name, p in method.get("parameters", {}).items()
                                      if p.get("location") == "query") | global_params)
                walk(resource.get("resources", {}))

        walk(self.document.get("resources", {}))
        return found

    def method(self, short_id: str) -> Method:
        try:
            return self.methods[short_id]
        except KeyError:
            raise KeyError(f"method {METHOD_PREFIX}{short_id} is not in {self.path}") from None

    @cached_property
    def _defs(self) -> dict[str, Any]:
        return {name: as_json_schema(schema) for name, schema in self.document["schemas"].items()}

    def has_schema(self, name: str) -> bool:
        return name in self.document["schemas"]

    def validate(self, schema: str, instance: Any, where: str = "", *, partial: bool = False) -> list[str]:
        """Every way `instance` breaks schema `schema` (Anys included); empty when it conforms.

        partial=True for the body of a PATCH, which holds only the fields its update mask names
        (AIP-134): fields marked Required may be missing there."""
        if schema not in self._validators:
            if not self.has_schema(schema):
                return [f"{where or schema}: schema {schema} is not in the discovery document"]
            import jsonschema

            self._validators[schema] = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{schema}",
                                                                        "$defs": self._defs})
        problems = [f"{where or schema}: at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                    for e in sorted(self._validators[schema].iter_errors(instance),
                                    key=lambda e: list(map(str, e.absolute_path)))
                    if not (partial and e.validator == "required")]
        return problems + self._check_anys(instance, where or schema)

    def _check_anys(self, value: Any, where: str) -> list[str]:
        if isinstance(value, list):
            return [problem for item in value for problem in self._check_anys(item, where)]
        if not isinstance(value, dict):
            return []
        match = _ANY_TYPE.match(str(value.get("@type", "")))
        name = schema_name(match["name"]) if match else None
        if match and name and self.has_schema(name):
            inner = {k: v for k, v in value.items() if k != "@type"}
            return self.validate(name, inner, f"{where} ({match['name']})")  # nested Anys too
        return [problem for item in value.values() for problem in self._check_anys(item, where)]

    def check_query(self, short_id: str, query: dict[str, str]) -> list[str]:
        declared = self.method(short_id).parameters | SYSTEM_QUERY
        return [f"{short_id}: query parameter {name!r} is not declared" for name in sorted(query)
                if name not in declared]


@functools.cache
def reference_spec() -> DiscoverySpec | None:
    """The document beside the repository, parsed once per process; None when it is absent, or
    FileNotFoundError when REQUIRE_REFERENCE_ENV says it must be there."""
    from interlock.paths import REFERENCE

    path = reference_file(REFERENCE / SPEC_RELATIVE_PATH, "Vertex AI discovery document")
    return DiscoverySpec(path) if path else None
