"""Step params: each one a `--kebab-name` argument with an `UPPER_SNAKE` env fallback.

The Task maps `$(params.x)` into either; the argument wins when both are set. An
empty value counts as unset, because a Tekton param defaulting to "" arrives as an
empty env var. Errors name the param, the argument, the env var and (unless secret)
the bad value, and raise BadInput (exit code 2), never argparse's usage exit.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NoReturn

from .errors import BadInput

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected true or false")


def integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = 0.0
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError("expected a positive number of seconds, such as 300")
    return seconds


def string_list(text: str) -> list[str]:
    """Comma- or whitespace-separated values; a JSON array of strings also works."""
    stripped = text.strip()
    if stripped.startswith("["):
        items = json.loads(stripped)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError("expected a JSON array of strings")
        return items
    return [item for item in stripped.replace(",", " ").split() if item]


def integer_list(text: str) -> list[int]:
    return [int(item) for item in string_list(text)]


def json_value(text: str) -> Any:
    return json.loads(text)


@dataclass(frozen=True)
class Param:
    """One step param. `parse` turns the text into a value or raises ValueError."""

    name: str
    parse: Callable[[str], Any] = str
    required: bool = False
    default: Any = None
    help: str = ""
    secret: bool = False

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def env(self) -> str:
        return self.name.upper().replace("-", "_").replace(".", "_")

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_").replace(".", "_")


def param(
    name: str,
    parse: Callable[[str], Any] = str,
    *,
    required: bool = False,
    default: Any = None,
    help: str = "",
    secret: bool = False,
) -> Param:
    return Param(name, parse, required, default, help, secret)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(f"bad arguments: {message}")


def parse_params(
    params: Sequence[Param],
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    prog: str | None = None,
    description: str | None = None,
) -> tuple[SimpleNamespace, list[str]]:
    """Values of `params` from `argv`, then `environ`, then their defaults.

    Returns the values and the raw text of every secret param that was given one
    (so the caller can register it for redaction).
    """
    parser = _Parser(prog=prog, description=description)
    for spec in params:
        suffix = " (required)" if spec.required else ""
        parser.add_argument(spec.flag, dest=spec.dest, default=None, help=f"{spec.help} [env {spec.env}]{suffix}")
    raw_args = parser.parse_args(list(argv))

    values = SimpleNamespace()
    given_secrets: list[str] = []
    for spec in params:
        raw = getattr(raw_args, spec.dest)
        source = spec.flag
        if raw is None or raw == "":
            raw, source = environ.get(spec.env, ""), f"env {spec.env}"
        if raw == "":
            if spec.required:
                raise BadInput(f"missing required param {spec.name!r}: pass {spec.flag} or set env {spec.env}", param=spec.name)
            setattr(values, spec.dest, spec.default)
            continue
        try:
            value = spec.parse(raw)
        except (ValueError, TypeError) as error:
            # A secret's value, and the parser's message that may quote it, stay out.
            detail = " (secret, value not shown)" if spec.secret else f" {raw!r}: {error}"
            raise BadInput(f"param {spec.name!r} ({source}): invalid value{detail}", param=spec.name) from None
        setattr(values, spec.dest, value)
        if spec.secret:
            given_secrets.append(raw)
    return values, given_secrets
