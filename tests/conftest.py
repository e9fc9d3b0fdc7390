"""Fixtures shared by more than one suite (instantiated only by the tests that ask for them): a real
OCI registry on loopback, a throw-away copy of the catalog (its own git history) for commands that
rewrite files or record what they published, the mesh simulator with a real Prometheus, and the
step images, built once per session for the task-level and pipeline-level tests."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from interlock import paths
from interlock.images.spec import SPECS
from interlock.registry import BINARY, LocalRegistry

INTERLOCK = str(Path(sys.executable).parent / "interlock")
# what a catalog copy holds: the catalog itself and what the tools read beside it
CATALOG_PARTS = ("tasks", "pipelines", "stepactions", "pyproject.toml", "catalog.yaml")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z",
           "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z"}


@pytest.fixture(scope="session")
def local_registry() -> Iterator[str]:
    """The address (127.0.0.1:<port>) of a distribution registry serving a temporary folder."""
    if not shutil.which(BINARY):
        pytest.fail(f"{BINARY} is not installed: run `make setup` (apt package docker-registry)")
    with LocalRegistry() as registry:
        yield registry.address


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=os.environ | GIT_ENV).stdout.strip()


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A copy of the catalog in its own git repository (one commit), for INTERLOCK_ROOT."""
    root = tmp_path / "catalog"
    for part in CATALOG_PARTS:
        source = paths.ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        elif source.exists():
            (root / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / part)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "catalog")
    return root


@pytest.fixture
def interlock_in(catalog_copy: Path) -> Callable[..., subprocess.CompletedProcess]:
    """interlock_in(*args) runs the `interlock` command against the catalog copy."""
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([INTERLOCK, *args], capture_output=True, text=True, timeout=600,
                              env=os.environ | {"INTERLOCK_ROOT": str(catalog_copy)})
        if check and proc.returncode != 0:
            raise AssertionError(f"interlock {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc
    return run


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


def built_image(name: str) -> str:
    """The local reference of step image `name`, built (or found up to date) first."""
    if not shutil.which("podman"):
        pytest.skip("podman is not installed: run `make setup`")
    subprocess.run([INTERLOCK, "images", "build", name], check=True, capture_output=True)
    return SPECS[name].ref


@pytest.fixture(scope="session")
def looker_image() -> str:
    return built_image("looker")


@pytest.fixture(scope="session")
def istio_image() -> str:
    return built_image("istio")


@pytest.fixture(scope="session")
def vertex_image() -> str:
    return built_image("vertex")
