"""The simulator's HTTP side: /metrics in Prometheus' text format for every mesh it runs, /state as
JSON, and a ticker thread that makes traffic flow in real time.

One server can run several meshes (one per test, each with its own workload names or metrics
namespace), so one Prometheus, started once, scrapes them all: Prometheus' service discovery sends
target updates at most every 5 seconds, which would otherwise cost every test that long.
"""
from __future__ import annotations

import threading
import time
from typing import Any

from ..loopback import Loopback, Reply, Request, Served
from .mesh import Mesh

FAMILIES = (("istio_requests_total", "counter", "Requests answered, by response code."),
            ("istio_request_duration_milliseconds", "histogram", "Request duration in milliseconds."))


class MeshSimulator(Served):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tick: float = 0.05, in_container: bool = False) -> None:
        self.meshes: list[Mesh] = []
        self.tick = tick
        self.scrapes = 0
        self._listen("mesh-http", host=host, port=port, in_container=in_container)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def add(self, mesh: Mesh) -> Mesh:
        mesh.tick()  # read the weights now, so traffic starts with the right split
        with self._lock:
            self.meshes.append(mesh)
        return mesh

    def remove(self, mesh: Mesh) -> None:
        with self._lock:
            if mesh in self.meshes:
                self.meshes.remove(mesh)

    def metrics(self) -> str:
        with self._lock:
            lines = [line for mesh in self.meshes for line in mesh.exposition()]
        out: list[str] = []
        for family, kind, help_text in FAMILIES:
            out += [f"# HELP {family} {help_text}", f"# TYPE {family} {kind}"]
            out += [line for line in lines if line.startswith(family + "{") or line.startswith(family + "_")]
        return "\n".join(out) + "\n"

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            with self._lock:
                meshes = list(self.meshes)
            for mesh in meshes:
                mesh.tick()

    def _serve(self) -> Loopback:
        loopback = super()._serve()
        self._stop.clear()
        self._ticker = threading.Thread(target=self._run, daemon=True, name="mesh-ticker")
        self._ticker.start()
        return loopback

    def stop(self) -> None:
        self._stop.set()
        super().stop()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None

    def state(self) -> list[dict[str, Any]]:
        with self._lock:
            return [mesh.state() for mesh in self.meshes]

    def handle(self, request: Request) -> Reply:
        if request.method == "GET" and request.path == "/metrics":
            self.scrapes += 1
            return Reply(200, text=self.metrics(), content_type="text/plain; version=0.0.4")  # Prometheus' text format
        if request.method == "GET" and request.path == "/state":
            return Reply(200, self.state())
        return Reply(404, text="not found\n", content_type="text/plain")


def wait_for(condition: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition()` until it is true or `timeout` seconds pass (for tests and the benchmark)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
