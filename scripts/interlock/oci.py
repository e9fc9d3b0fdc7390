"""The one place that talks to a registry over its HTTP API, through oras (oras-py).

oras retries a failed request five times with growing sleeps (about two minutes in all), so
a registry that is down would look like a hang: `reachable()` answers that in seconds first.
Credentials come from the Docker config (`~/.docker/config.json`), as for podman and tkn.
"""
from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass

import oras.provider

from interlock import registry as reg

# what a registry may answer for an image or a bundle (OCI and Docker schema 2)
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def reachable(registry: str, timeout: float = 5.0) -> None:
    """RegistryError unless a TCP connection to the registry opens within `timeout` seconds."""
    host, port = reg.address(registry)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise reg.RegistryError(f"registry {registry}: cannot connect to {host}:{port} ({e.strerror or e})") from None


def client(registry: str) -> oras.provider.Registry:
    """An oras client: plain HTTP for a loopback registry, verified TLS for any other."""
    reachable(registry)
    return oras.provider.Registry(insecure=reg.is_loopback(registry))


@dataclass(frozen=True)
class Manifest:
    reference: str   # what was asked for: repository:tag or repository@digest
    digest: str      # sha256 of the bytes the registry answered
    raw: bytes

    @property
    def data(self) -> dict:
        return json.loads(self.raw)


def manifest(oras_client: oras.provider.Registry, reference: str) -> Manifest | None:
    """The manifest a reference names, or None when the registry does not have it (404)."""
    container = oras_client.get_container(reference)
    oras_client.auth.load_configs(container)
    answer = oras_client.do_request(f"{oras_client.prefix}://{container.manifest_url()}", "GET",
                                    headers={"Accept": ", ".join(MANIFEST_TYPES)})
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise reg.RegistryError(f"{reference}: the registry answered HTTP {answer.status_code} "
                                f"for the manifest: {answer.text[:200].strip()}")
    return Manifest(reference, sha256(answer.content), answer.content)
