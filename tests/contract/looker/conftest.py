"""Fixtures for the Looker contract tests: the fake server, the real looker-sdk pointed at it,
and the upstream OpenAPI document (tests that need it skip when it is absent)."""
from __future__ import annotations

import functools
import sys
from collections.abc import Iterator

import looker_sdk
import pytest
from looker_sdk.sdk.api40.methods import Looker40SDK

from interlock.paths import REFERENCE, ROOT

# `tests.fakes` must resolve to this repository's tests/ even under a bare `pytest` (which does
# not put the root on sys.path); looker-sdk also installs a stray top-level `tests` package.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.looker import FakeLooker, LookerSpec, ManualClock  # noqa: E402
from tests.fakes.looker.spec import SPEC_RELATIVE_PATH

SPEC_PATH = REFERENCE / SPEC_RELATIVE_PATH


def load_spec_or_skip() -> LookerSpec:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Looker OpenAPI document not found at {SPEC_PATH} "
                    "(it lives in ../shared/reference beside the repository; set INTERLOCK_REFERENCE to point elsewhere)")
    found = spec_if_present()
    assert found is not None
    return found


@functools.cache
def spec_if_present() -> LookerSpec | None:
    """One parsed document per test session (it is large)."""
    return LookerSpec(SPEC_PATH) if SPEC_PATH.is_file() else None


@pytest.fixture(scope="session")
def spec() -> LookerSpec:
    return load_spec_or_skip()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _start(fake: FakeLooker) -> Iterator[FakeLooker]:
    with fake:
        yield fake
    # Every answer of every test was checked against the spec when it was available.
    assert fake.spec_violations == [], f"fake answered outside the OpenAPI schema: {fake.spec_violations}"


@pytest.fixture
def fake() -> Iterator[FakeLooker]:
    """A fake on real time that checks its own answers against the spec when the spec exists."""
    yield from _start(FakeLooker(spec=spec_if_present()))


@pytest.fixture
def timed_fake(clock: ManualClock) -> Iterator[FakeLooker]:
    """The same fake on a hand-moved clock, for exact asynchronous states."""
    yield from _start(FakeLooker(spec=spec_if_present(), clock=clock))


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
