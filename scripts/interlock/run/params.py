"""Params of a Task or Pipeline: declared types, defaults, required values, enums, propagation.

Values are `str`, `list[str]` (array) or `dict[str, str]` (object), as Tekton v1 allows.
"""
from __future__ import annotations

import json
from typing import Mapping

from interlock.run.errors import InvalidRun

ParamValue = str | list[str] | dict[str, str]
TYPES = ("string", "array", "object")


def parse_cli(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`-p name=value` options -> {name: raw value}; JSON is decoded once the type is known."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InvalidRun("-p", f"{pair!r} is not name=value")
        out[name.strip()] = value
    return out


def given(spec_params: object, where: str) -> dict[str, object]:
    """spec.params of a TaskRun/PipelineRun ([{name, value}]) -> {name: value}."""
    if spec_params is None:
        return {}
    if not isinstance(spec_params, list):
        raise InvalidRun(where, "must be a list of {name, value}")
    out: dict[str, object] = {}
    for i, p in enumerate(spec_params):
        if not isinstance(p, dict) or "name" not in p or "value" not in p:
            raise InvalidRun(f"{where}[{i}]", "each param needs `name` and `value`")
        if p["name"] in out:
            raise InvalidRun(f"{where}[{i}]", f"param {p['name']!r} is given twice")
        out[str(p["name"])] = p["value"]
    return out


def declared_type(decl: Mapping[str, object]) -> str:
    """The param's type: explicit, or inferred from its default/properties as Tekton does."""
    t = decl.get("type")
    if t is None:
        default = decl.get("default")
        if isinstance(default, list):
            return "array"
        if isinstance(default, dict) or "properties" in decl:
            return "object"
        return "string"
    return str(t)


def _scalar(v: object) -> bool:
    return isinstance(v, (str, int, float, bool))


def _text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def coerce(value: object, ptype: str, where: str, json_text: bool = False) -> ParamValue:
    """A given value as a value of `ptype`, or InvalidRun. `json_text`: a raw `-p` string, whose
    array or object is written as JSON; in YAML a string is a string (Tekton refuses a JSON
    string given to an array param: the types differ)."""
    if ptype in ("array", "object") and isinstance(value, str) and json_text:
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise InvalidRun(where, f"type mismatch: {ptype} param expects a JSON {ptype} on the "
                                    f"command line, got {value!r} ({e.msg})") from None
    if ptype == "string":
        if not _scalar(value):
            raise InvalidRun(where, f"type mismatch: param is a string, got "
                                    f"{'an array' if isinstance(value, list) else 'an object'}")
        return _text(value)
    if ptype == "array":
        if not isinstance(value, list) or not all(_scalar(v) for v in value):
            raise InvalidRun(where, "type mismatch: param is an array of strings, got "
                                    f"{json.dumps(value)}")
        return [_text(v) for v in value]
    if not isinstance(value, dict) or not all(_scalar(v) for v in value.values()):
        raise InvalidRun(where, "type mismatch: param is an object of string values, got "
                                f"{json.dumps(value)}")
    return {str(k): _text(v) for k, v in value.items()}


def _infer(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _infer(json.loads(value))
        except json.JSONDecodeError:
            return "string"
    return "string"


def resolve(declared: object, values: Mapping[str, object], *, where: str,
            given_where: str, propagate: bool = False,
            strict_names: bool = False, cli: set[str] | frozenset[str] = frozenset()
            ) -> dict[str, ParamValue]:
    """The value of every param: given, else default; checked against type, enum and keys.

    `where` names the declarations (file: spec.params), `given_where` the values. `propagate`
    (embedded specs) keeps given params that are not declared, as Tekton's propagated params.
    `strict_names` rejects undeclared given names (the `-p` options of a referenced Task).
    `cli` names the values that are raw `-p` strings (JSON for arrays and objects).
    """
    if declared is None:
        declared = []
    if not isinstance(declared, list):
        raise InvalidRun(where, "must be a list of param declarations")
    out: dict[str, ParamValue] = {}
    names: set[str] = set()
    for i, decl in enumerate(declared):
        here = f"{where}[{i}]"
        if not isinstance(decl, dict) or not decl.get("name"):
            raise InvalidRun(here, "a param declaration needs a `name`")
        name = str(decl["name"])
        if name in names:
            raise InvalidRun(here, f"param {name!r} is declared twice")
        names.add(name)
        ptype = declared_type(decl)
        if ptype not in TYPES:
            raise InvalidRun(f"{here}.type", f"{ptype!r} is not one of {', '.join(TYPES)}")
        if name in values:
            value = coerce(values[name], ptype, f"{given_where}: param {name!r}", name in cli)
        elif "default" in decl:
            value = coerce(decl["default"], ptype, f"{here}.default")
        else:
            raise InvalidRun(given_where, f"missing required param {name!r} ({ptype}, declared at "
                                          f"{here}, no default)")
        if ptype == "object":
            value = _check_object(decl, value, name, here, given_where, values)
        enum = decl.get("enum")
        if enum is not None:
            allowed = [str(e) for e in enum]
            if ptype != "string":
                raise InvalidRun(f"{here}.enum", "enum is only allowed on string params")
            if value not in allowed:
                raise InvalidRun(given_where, f"param {name!r} value {value!r} is not in its enum "
                                              f"{allowed} ({here}.enum)")
        out[name] = value
    extra = [n for n in values if n not in names]
    if extra and strict_names:
        raise InvalidRun(given_where, f"param(s) {', '.join(map(repr, extra))} are not declared "
                                      f"(declared: {', '.join(sorted(names)) or 'none'})")
    if propagate:
        for n in extra:
            out[n] = coerce(values[n], _infer(values[n]) if n in cli else _kind(values[n]),
                            f"{given_where}: param {n!r}", n in cli)
    return out


def _kind(value: object) -> str:
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string"


def _check_object(decl: Mapping[str, object], value: dict[str, str], name: str, here: str,
                  given_where: str, values: Mapping[str, object]) -> dict[str, str]:
    props = decl.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidRun(f"{here}.properties", "must be a map of key -> {type: string}")
    for key, spec in props.items():
        if isinstance(spec, dict) and spec.get("type", "string") != "string":
            raise InvalidRun(f"{here}.properties.{key}", "only string properties are supported")
    # keys the caller left out fall back to the default's, as Tekton merges object defaults
    default = decl.get("default")
    if name in values and isinstance(default, dict):
        value = {**{str(k): _text(v) for k, v in default.items()}, **value}
    missing = [k for k in props if k not in value]
    if missing:
        raise InvalidRun(given_where, f"object param {name!r} is missing key(s) "
                                      f"{', '.join(missing)} declared at {here}.properties")
    extra = [k for k in value if props and k not in props]
    if extra:  # Tekton: keys an object param does not declare in `properties` are refused
        raise InvalidRun(given_where, f"object param {name!r} has key(s) {', '.join(extra)} "
                                      f"not declared in {here}.properties")
    return value


def variables(values: Mapping[str, ParamValue]) -> dict[str, object]:
    """{"params.x": value} for substitution."""
    return {f"params.{k}": v for k, v in values.items()}
