"""Fixtures for the Vertex AI contract tests: the fakes, the real aiplatform_v1 clients pointed at
them, and the upstream discovery document (tests that need it skip when it is absent)."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.google_auth import mint
from tests.fakes.vertex import SPEC_RELATIVE_PATH, DiscoverySpec, FakeVertex, reference_spec
from tests.reference import reference_or_skip


def load_spec_or_skip() -> DiscoverySpec:
    """The discovery document, or a skip when it is absent (a failure under `make test`, which sets
    REQUIRE_REFERENCE_ENV: reference_spec() raises then)."""
    from interlock.paths import REFERENCE

    reference_or_skip(REFERENCE / SPEC_RELATIVE_PATH, "Vertex AI discovery document")
    return reference_spec()


@pytest.fixture(scope="session")
def spec() -> DiscoverySpec:
    return load_spec_or_skip()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeVertex]:
    """A fake on a hand-moved clock that checks itself against the document when it is there."""
    with FakeVertex(spec=reference_spec(), clock=clock, sleep=clock.advance) as vertex:
        yield vertex
    assert vertex.spec_violations == [], vertex.spec_violations


PRINCIPAL = "steps@interlock-test.iam.gserviceaccount.com"


@pytest.fixture
def clients(fake: FakeVertex) -> dict:
    """The four aiplatform_v1 clients over REST against the fake, with a fake-minted token."""
    from google.oauth2.credentials import Credentials

    from interlock_steps.vertex import gapic

    credentials = Credentials(token=mint(PRINCIPAL, expires=time.time() + 3600))
    return {service: gapic.client_class(service)(credentials=credentials, transport="rest",
                                                 client_options={"api_endpoint": fake.url})
            for service in gapic.SERVICES}
