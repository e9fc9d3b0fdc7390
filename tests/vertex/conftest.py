"""Run the Vertex AI steps in-process (their real `main`, the real aiplatform_v1 clients and
google-auth) against the fake Vertex AI and the fake token services.

Credentials come the Workload Identity Federation way (an external_account config and a token
file in a folder standing in for the gcp-credentials workspace): google-auth reads that at call
time, while the metadata-server way depends on environment variables google-auth reads when it is
imported, so tests/contract/vertex proves that one in fresh processes.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.google_auth import FakeGoogleAuth
from tests.fakes.vertex import FakeVertex, reference_spec
from tests.step_run import StepRun, run_step as run_in_process

PROJECT, LOCATION = "interlock-test", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture
def auth() -> Iterator[FakeGoogleAuth]:
    with FakeGoogleAuth() as fake:
        yield fake


def checked_fake(fake: FakeVertex) -> Iterator[FakeVertex]:
    with fake:
        yield fake
    # every request the steps sent and every answer the fake gave fit the discovery document
    assert fake.request_violations == [], fake.request_violations
    assert fake.spec_violations == [], fake.spec_violations
    assert not any(c.carries_key for c in fake.calls)


@pytest.fixture
def vertex() -> Iterator[FakeVertex]:
    yield from checked_fake(FakeVertex(spec=reference_spec()))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_vertex(clock: ManualClock) -> Iterator[FakeVertex]:
    """The fake on a hand-moved clock that the step's sleeps move: exact timelines, no waiting."""
    yield from checked_fake(FakeVertex(spec=reference_spec(), clock=clock, sleep=clock.advance))


@pytest.fixture
def wif(tmp_path: Path, auth: FakeGoogleAuth, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gcp-credentials workspace: a credential config and the token file it names."""
    folder = tmp_path / "gcp-credentials"
    folder.mkdir()
    (folder / "token").write_text(auth.subject_token())
    (folder / "credential-config.json").write_text(json.dumps(auth.external_account_config(str(folder / "token"))))
    # credentials.resolve() sets these for google-auth; restore them after each test
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    return folder


Runner = Callable[..., StepRun]


def make_runner(tmp_path: Path, fake: FakeVertex, credentials: Path | None, clock: ManualClock | None) -> Runner:
    """credentials: the gcp-credentials folder; None leaves it unbound."""
    def run(module: ModuleType, *args: str, report: bool = False, deadline: float = 60) -> StepRun:
        argv = [*args, "--project", PROJECT, "--location", LOCATION, "--api-endpoint", fake.url,
                "--deadline", str(deadline), "--request-timeout", "10"]
        if credentials is not None:
            argv += ["--credentials-dir", str(credentials)]
        if "--poll-interval" not in args:
            argv += ["--poll-interval", "0.05"]
        timing = {"clock": clock, "sleep": clock.advance} if clock else {}
        return run_in_process(module, argv, tmp_path, report=report, **timing)
    return run


@pytest.fixture
def run_step(tmp_path: Path, vertex: FakeVertex, wif: Path) -> Runner:
    """run_step(module, *args) -> StepRun, against `vertex` on real time."""
    return make_runner(tmp_path, vertex, wif, None)


@pytest.fixture
def run_timed(tmp_path: Path, timed_vertex: FakeVertex, wif: Path, clock: ManualClock) -> Runner:
    """run_timed(module, *args) -> StepRun, against `timed_vertex`, the step sleeping on `clock`."""
    return make_runner(tmp_path, timed_vertex, wif, clock)
