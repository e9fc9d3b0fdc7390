"""OCI registries: how Interlock names things in one, when it may speak plain HTTP to it, and a
throw-away local registry for tests and demos.

A registry is given as `HOST[:PORT][/PATH]` (`--registry`). Images go to
`<registry>/interlock/<name>:<version>`, bundles to `<registry>/interlock/tasks/<name>:<version>`
(and `.../pipelines/...`).
Plain HTTP (podman `--tls-verify=false`, oras `insecure`) is used only for a registry whose host
resolves to loopback addresses alone: nothing leaves the machine unencrypted.

The local registry is Debian's `docker-registry` (the CNCF distribution registry 2.8) serving
a temporary folder on 127.0.0.1:

    with LocalRegistry() as registry:      # registry.address == "127.0.0.1:<port>"
        ...
    python -m interlock.registry           # serve one until Ctrl-C; prints its address
"""
from __future__ import annotations

import ipaddress
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPOSITORY = "interlock"
BINARY = "docker-registry"
_REGISTRY = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?(?P<path>(?:/[a-z0-9._-]+)*)$")


class RegistryError(RuntimeError):
    """A registry that cannot be used; the message names it and says why."""


def check(registry: str) -> str:
    """`registry` without a trailing slash, or RegistryError naming the bad value."""
    value = registry.rstrip("/")
    if not _REGISTRY.match(value) or "://" in registry:
        raise RegistryError(f"--registry {registry!r}: expected HOST[:PORT][/PATH], e.g. 127.0.0.1:5000 "
                            "or registry.example.com/team (no scheme, lower-case path)")
    return value


def host(registry: str) -> str:
    return _REGISTRY.match(check(registry))["host"].strip("[]")


def address(registry: str) -> tuple[str, int]:
    """(host, port) to connect to: the given port, else 80 for loopback (HTTP) or 443 (HTTPS)."""
    port = _REGISTRY.match(check(registry))["port"]
    return host(registry), int(port) if port else (80 if is_loopback(registry) else 443)


def is_loopback(registry: str) -> bool:
    """Whether every address the registry's host resolves to is a loopback address."""
    name = host(registry)
    try:
        infos = socket.getaddrinfo(name, None)
    except socket.gaierror:
        return False
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return bool(addresses) and all(a.is_loopback for a in addresses)


def repository(registry: str) -> str:
    """Where Interlock's images live in a registry: <registry>/interlock."""
    return f"{check(registry)}/{REPOSITORY}"


def registry_of(reference: str) -> str:
    """The registry part of one of our references (<registry>/interlock/...)."""
    return reference.split(f"/{REPOSITORY}/", 1)[0]


def image_repository(registry: str, name: str) -> str:
    return f"{repository(registry)}/{name}"


def bundle_repository(registry: str, kind_folder: str, name: str) -> str:
    """Where the bundles of a Task (kind_folder `tasks`) or Pipeline (`pipelines`) live."""
    return f"{repository(registry)}/{kind_folder}/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRegistry:
    """A distribution registry on 127.0.0.1 with its storage in a temporary folder."""

    def __init__(self, startup_timeout: float = 20.0):
        self.startup_timeout = startup_timeout
        self.folder: Path | None = None
        self.address = ""
        self._proc: subprocess.Popen | None = None

    def start(self) -> "LocalRegistry":
        binary = shutil.which(BINARY)
        if not binary:
            raise RegistryError(f"{BINARY} is not installed: run `make setup` (apt package docker-registry)")
        self.folder = Path(tempfile.mkdtemp(prefix="interlock-registry-"))
        for _ in range(3):  # another process may take the free port between the probe and the bind
            self.address = f"127.0.0.1:{_free_port()}"
            config = self.folder / "config.yml"
            config.write_text("version: 0.1\nstorage:\n  filesystem:\n"
                              f"    rootdirectory: {self.folder / 'data'}\nhttp:\n  addr: {self.address}\n")
            log = open(self.folder / "registry.log", "w")
            self._proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
            log.close()
            if self._wait():
                return self
            self._terminate()
        message = (self.folder / "registry.log").read_text().strip().splitlines()
        self.stop()
        raise RegistryError(f"{BINARY} did not start on 127.0.0.1: " + (message[-1] if message else "no output"))

    def _wait(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        if self.running:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        self._terminate()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """Serve a local registry until interrupted; print its address on the first line."""
    try:
        registry = LocalRegistry().start()
    except RegistryError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(registry.address, flush=True)
    print(f"storage: {registry.folder} (removed on exit); Ctrl-C to stop", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
    try:
        while registry.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
