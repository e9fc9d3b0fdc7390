"""interlock.registry: registry names, the loopback-only plain-HTTP rule, the local registry."""
from __future__ import annotations

import socket
import urllib.request

import pytest

from interlock import registry as reg


def test_plain_http_only_for_loopback_registries():
    assert reg.is_loopback("127.0.0.1:5000") and reg.is_loopback("localhost:5000/team")
    assert reg.is_loopback("[::1]:5000")
    assert not reg.is_loopback("10.1.2.3:5000")
    assert reg.address("127.0.0.1") == ("127.0.0.1", 80) and reg.address("10.1.2.3") == ("10.1.2.3", 443)


@pytest.mark.parametrize("bad", ["http://127.0.0.1:5000", "", "host:port", "Reg/Upper"])
def test_bad_registry_names_are_refused_with_the_value(bad):
    with pytest.raises(reg.RegistryError, match="expected HOST"):
        reg.check(bad)


def test_names_in_a_registry():
    assert reg.image_repository("r.example:5000/team/", "looker") == "r.example:5000/team/interlock/looker"
    assert reg.bundle_repository("r.example", "tasks", "looker-refresh") == "r.example/interlock/tasks/looker-refresh"


def test_local_registry_serves_then_leaves_nothing():
    with reg.LocalRegistry() as registry:
        folder = registry.folder
        with urllib.request.urlopen(f"http://{registry.address}/v2/", timeout=5) as answer:
            assert answer.status == 200
        host, port = registry.address.split(":")
    assert not folder.exists()
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()
