"""Vertex AI's JSON as the REST transport sends it, and as the discovery document describes it.

google-cloud-aiplatform's REST transport asks for `$alt=json;enum-encoding=int`: it sends enums
as numbers, and the server answers with numbers too. The discovery document lists enums by name,
in an order that is not their proto number (AcceleratorType: TPU_V2 is 6 but listed 15th). So
the numbers come from the protobuf descriptors (the message definitions the client was generated
from), and this module converts a body between the two forms by parsing it into the proto
message and printing it again, which also:

- refuses a field the message does not have, as Google's front end does ("Unknown name");
- writes int64 as strings, durations as "<n>s", timestamps in RFC 3339, and leaves out fields
  at their default value, as the real server's JSON does.

Handlers work on the name form; the server converts at the edges.
"""
from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from google.protobuf import descriptor_pool, json_format, message_factory

from .spec import proto_name

# The message modules to load into the default descriptor pool: every request, answer and
# operation payload the fake speaks.
_TYPE_MODULES = ("custom_job", "job_service", "model", "model_service", "endpoint", "endpoint_service",
                 "prediction_service", "operation")


class Unparseable(ValueError):
    """A body the message cannot hold (unknown field, wrong type); the text is Google's style."""


@cache
def _loaded() -> None:
    for module in _TYPE_MODULES:
        importlib.import_module(f"google.cloud.aiplatform_v1.types.{module}")
    importlib.import_module("google.longrunning.operations_proto_pb2")
    importlib.import_module("google.rpc.error_details_pb2")


@cache
def _message_class(schema: str) -> Any:
    _loaded()
    name = proto_name(schema)
    if name is None:
        raise KeyError(f"no proto message for discovery schema {schema}")
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))


def convert(schema: str, body: Any, *, integers: bool) -> Any:
    """`body` (a dict in either enum form) as discovery schema `schema`'s message, printed back
    with enum names (integers=False) or numbers (integers=True)."""
    if body is None:
        return None
    message = _message_class(schema)()
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as error:
        raise Unparseable(f"Invalid JSON payload received. {error}".replace("\n", " ")) from None
    return json_format.MessageToDict(message, use_integers_for_enums=integers)


def enum_number(schema: str, field: str, name: str) -> int:
    """The proto number of enum value `name` of `field` (camelCase) of `schema`'s message."""
    descriptor = _message_class(schema).DESCRIPTOR
    field_descriptor = next(f for f in descriptor.fields if f.json_name == field)
    return field_descriptor.enum_type.values_by_name[name].number
