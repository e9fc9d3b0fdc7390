"""The upstream contracts in ../shared/reference (interlock.paths.REFERENCE) for the tests that
check against them. Absent (a user's clone), those tests skip; under `make test`, which sets
REQUIRE_REFERENCE_ENV, they fail instead, so CI cannot pass by skipping them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.reference import REQUIRE_REFERENCE_ENV


def reference_or_skip(path: Path, what: str) -> Path:
    """`path` when it exists; otherwise a skip, or a failure when REQUIRE_REFERENCE_ENV is set."""
    if path.exists():
        return path
    message = (f"{what} not found at {path} (it lives in ../shared/reference beside the repository; "
               "set INTERLOCK_REFERENCE to point elsewhere)")
    if os.environ.get(REQUIRE_REFERENCE_ENV):
        pytest.fail(f"{message}, and {REQUIRE_REFERENCE_ENV} is set", pytrace=False)
    pytest.skip(message)
