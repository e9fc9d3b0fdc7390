"""Fixtures for the step runtime tests (the doubles live in runtime_fakes.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from runtime_fakes import FakeClock, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    thread = threading.Thread(target=scripted.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield scripted
    scripted.httpd.shutdown()
    scripted.httpd.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
