"""Fixtures shared by more than one suite (instantiated only by the tests that ask for them)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def simulator():
    """The mesh simulator (tests/fakes/mesh): one HTTP server for every test's mesh."""
    from tests.fakes.mesh import MeshSimulator

    with MeshSimulator() as sim:
        yield sim


@pytest.fixture(scope="session")
def prometheus(simulator, tmp_path_factory):
    """A real Prometheus on loopback scraping the simulator every 250 ms (started once: its first
    scrape comes about 5 s after start)."""
    from tests.fakes.mesh import PrometheusMissing, PrometheusServer

    try:
        server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), targets=[simulator.address],
                                  scrape_interval="250ms").start()
    except PrometheusMissing as error:
        pytest.skip(str(error))
    yield server
    server.stop()
