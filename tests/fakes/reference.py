"""The upstream documents the fakes check against live in ../shared/reference (a user's clone may
not have it). Absent, a fake runs unchecked; unless REQUIRE_REFERENCE_ENV is set (`make test` sets
it), which makes the absence an error, so CI cannot pass on unchecked fakes. No interlock import:
the fakes' container image has only this folder."""
from __future__ import annotations

import os
from pathlib import Path

REQUIRE_REFERENCE_ENV = "INTERLOCK_REQUIRE_REFERENCE"


def reference_file(path: Path, what: str) -> Path | None:
    """`path` when it is there; None when it is not, or FileNotFoundError when REQUIRE_REFERENCE_ENV
    says it must be."""
    if path.is_file():
        return path
    if os.environ.get(REQUIRE_REFERENCE_ENV):
        raise FileNotFoundError(f"{what} not found at {path}, and {REQUIRE_REFERENCE_ENV} is set: "
                                "put ../shared/reference beside the repository or set INTERLOCK_REFERENCE")
    return None
