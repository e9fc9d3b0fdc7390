"""Tekton results, written only when Tekton can carry them whole.

Tekton's entrypoint reads every declared result file in /tekton/results when a step
ends and puts them, with a StartedAt entry, into the container's termination
message, which may not exceed 4096 bytes (see interlock_steps.termination, which measures
it byte for byte as Tekton writes it; `interlock run` uses the same function). Past that,
the step fails at the end with a vague message.

So before writing we encode the message the way Tekton will (all result files
already in the directory, from earlier steps, count too) and refuse with an error
that names every result and its size. Nothing is ever truncated. A result that
holds a secret is refused, not redacted: a redacted value would be wrong data.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..termination import INTERNAL, LIMIT, STARTED_AT_LONGEST, TASK_RESULT, go_json, message_size
from .errors import ResultsRejected
from .redaction import Redactor

TERMINATION_MESSAGE_LIMIT = LIMIT
DEFAULT_RESULTS_DIR = "/tekton/results"
RESULT_PATH_PREFIX = "RESULT_PATH_"
__all__ = ["TERMINATION_MESSAGE_LIMIT", "Results", "encode_result", "go_json", "termination_message_size"]

# Tekton v1 result names: alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
_RESULT_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")

ResultValue = str | list[str] | dict[str, str]


def termination_message_size(results: Mapping[str, str], *, started_at: str | None = STARTED_AT_LONGEST) -> int:
    """Bytes of the termination message Tekton builds from these result file contents. The
    StartedAt value is budgeted in its longest form (a zone with an offset), so a pod in any
    time zone fits: in UTC the check is 5 bytes stricter than Tekton."""
    entries: list[tuple[str, str | bytes, int]] = []
    if started_at is not None:
        entries.append(("StartedAt", started_at, INTERNAL))
    entries += [(name, text, TASK_RESULT) for name, text in results.items()]
    return message_size(entries)


def encode_result(name: str, value: ResultValue) -> str:
    """The file content for a string, array or object result (arrays and objects as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        bad = [item for item in value if not isinstance(item, str)]
        if bad:
            raise ResultsRejected(f"array result {name!r} must hold strings only, got {bad[0]!r}", result=name)
        return json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, Mapping):
        bad_keys = [key for key, item in value.items() if not isinstance(key, str) or not isinstance(item, str)]
        if bad_keys:
            raise ResultsRejected(
                f"object result {name!r} must map strings to strings, key {bad_keys[0]!r} does not", result=name
            )
        return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))
    raise ResultsRejected(
        f"result {name!r} must be a string, a list of strings or a dict of strings, got {type(value).__name__}",
        result=name,
    )


class Results:
    """Writes a step's results into the Tekton results directory."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        redactor: Redactor,
        limit: int = TERMINATION_MESSAGE_LIMIT,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.redactor = redactor
        self.limit = limit
        # A Task hands each result's path over as RESULT_PATH_<NAME>=$(results.<name>.path), so
        # the YAML says which results the step writes; without one, <directory>/<name>.
        self.paths = {key[len(RESULT_PATH_PREFIX):]: Path(value) for key, value in (environ or {}).items()
                      if key.startswith(RESULT_PATH_PREFIX) and value}

    def path(self, name: str) -> Path:
        return self.paths.get(name.upper().replace("-", "_").replace(".", "_"), self.directory / name)

    def _existing(self, replacing: Mapping[str, str]) -> dict[str, str]:
        existing = {}
        for folder in sorted({self.directory, *(p.parent for p in self.paths.values())}):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.name not in replacing and _RESULT_NAME.match(path.name):
                    existing[path.name] = path.read_text(encoding="utf-8", errors="replace")
        return existing

    def check(self, values: Mapping[str, ResultValue]) -> dict[str, str]:
        """Encode and vet `values`; returns the file contents to write."""
        encoded: dict[str, str] = {}
        for name, value in values.items():
            if not _RESULT_NAME.match(name):
                raise ResultsRejected(f"result name {name!r} is not a valid Tekton result name", result=name)
            text = encode_result(name, value)
            leak = self.redactor.find_secret(text)
            if leak:
                raise ResultsRejected(f"result {name!r} contains {leak}; refusing to write it", result=name)
            encoded[name] = text
        everything = {**self._existing(encoded), **encoded}
        size = termination_message_size(everything)
        if size > self.limit:
            sizes = sorted(
                ((name, termination_message_size({name: text}, started_at=None) - 2) for name, text in everything.items()),
                key=lambda item: -item[1],
            )
            listing = ", ".join(
                f"{name}={entry_size}B{'' if name in encoded else ' (already written)'}" for name, entry_size in sizes
            )
            raise ResultsRejected(
                f"results would need {size} bytes of Tekton's {self.limit}-byte termination message"
                f" ({size - self.limit} over); entries: {listing}."
                " Nothing was written: make the results smaller or write large output to a workspace.",
                size=size,
                limit=self.limit,
                results={name: entry_size for name, entry_size in sizes},
            )
        return encoded

    def write(self, values: Mapping[str, ResultValue] | None = None, /, **named: ResultValue) -> None:
        """Write all of these results, or none of them (any check failing raises)."""
        encoded = self.check({**(values or {}), **named})
        for name, text in encoded.items():
            target = self.path(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write-then-rename: a half-written result is never visible to Tekton.
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as result_file:
                result_file.write(text)
            os.replace(temporary, target)
