"""Fixtures for the Looker contract tests: the fake server, the real looker-sdk pointed at it,
and the upstream OpenAPI document (tests/reference.py: absent, they skip, or fail under `make test`)."""
from __future__ import annotations

import sys
from collections.abc import Iterator

import looker_sdk
import pytest
from looker_sdk.sdk.api40.methods import Looker40SDK

from interlock.paths import REFERENCE, SOURCE

# `tests.fakes` must resolve to this repository's tests/ even under a bare `pytest` (which does
# not put the root on sys.path); looker-sdk also installs a stray top-level `tests` package.
if str(SOURCE) not in sys.path:
    sys.path.insert(0, str(SOURCE))

from tests.fakes.looker import FakeLooker, LookerSpec, ManualClock  # noqa: E402
from tests.fakes.looker.spec import SPEC_RELATIVE_PATH, reference_spec  # noqa: E402
from tests.reference import reference_or_skip  # noqa: E402

SPEC_PATH = REFERENCE / SPEC_RELATIVE_PATH


@pytest.fixture(scope="session")
def spec() -> LookerSpec:
    reference_or_skip(SPEC_PATH, "the Looker OpenAPI document")
    found = reference_spec(REFERENCE)
    assert found is not None
    return found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _start(fake: FakeLooker) -> Iterator[FakeLooker]:
    with fake:
        yield fake
    fake.assert_clean()  # every request and answer of the test fit the OpenAPI document


@pytest.fixture
def fake() -> Iterator[FakeLooker]:
    """A fake on real time that checks its own answers against the spec when the spec exists."""
    yield from _start(FakeLooker())


@pytest.fixture
def timed_fake(clock: ManualClock) -> Iterator[FakeLooker]:
    """The same fake on a hand-moved clock, for exact asynchronous states."""
    yield from _start(FakeLooker(clock=clock))


def sdk_for(fake: FakeLooker, monkeypatch: pytest.MonkeyPatch) -> Looker40SDK:
    for name, value in fake.sdk_env().items():
        monkeypatch.setenv(name, value)
    return looker_sdk.init40()


@pytest.fixture
def sdk(fake: FakeLooker, monkeypatch: pytest.MonkeyPatch) -> Looker40SDK:
    return sdk_for(fake, monkeypatch)


@pytest.fixture
def timed_sdk(timed_fake: FakeLooker, monkeypatch: pytest.MonkeyPatch) -> Looker40SDK:
    return sdk_for(timed_fake, monkeypatch)
