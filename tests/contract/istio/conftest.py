"""Fixtures for the Istio contract tests: the fake Kubernetes API with Istio's CRDs and the real
`kubernetes` client pointed at it."""
from __future__ import annotations

import sys
from pathlib import Path

import kubernetes
import pytest
from kubernetes.client import ApiClient, Configuration, CustomObjectsApi

from interlock.paths import REFERENCE, ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.kubernetes import Access, FakeKubernetes, istio_crds  # noqa: E402
from tests.istio.objects import TOKEN, USER  # noqa: E402


@pytest.fixture
def kube():
    access = Access(tokens={TOKEN: USER})
    access.allow(USER, "shop")
    with FakeKubernetes(istio_crds(REFERENCE), access=access) as fake:
        yield fake


def _client_for(fake: FakeKubernetes, tmp_path: Path, token: str | None = TOKEN) -> CustomObjectsApi:
    configuration = Configuration()
    kubernetes.config.load_kube_config(config_file=str(fake.kubeconfig(tmp_path / "kubeconfig", token=token)),
                                       client_configuration=configuration)
    return CustomObjectsApi(ApiClient(configuration))


@pytest.fixture
def client_for(tmp_path):
    """client_for(fake, token=...) -> a CustomObjectsApi reaching `fake` through a kubeconfig."""
    return lambda fake, token=TOKEN: _client_for(fake, tmp_path, token)


@pytest.fixture
def api(kube, tmp_path) -> CustomObjectsApi:
    return _client_for(kube, tmp_path)
