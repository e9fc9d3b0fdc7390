"""A real Prometheus for tests (Debian's `prometheus` package, 2.42): started on 127.0.0.1 with a
free port, a temporary data directory and a short scrape interval; and `promtool` backfill for
cases that want fixed data at once. Not a fake: the queries the steps send meet the real PromQL
engine.

Prometheus' target discovery sends updates at most every 5 seconds, so the first scrape comes about
5 s after start; start it once and point it at a MeshSimulator that serves many meshes.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from ..loopback import Loopback


class PrometheusMissing(RuntimeError):
    pass


def binary(name: str = "prometheus") -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if not found:
        raise PrometheusMissing(f"{name} is not installed: run `make setup` (Debian package prometheus)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrometheusServer:
    def __init__(self, data_dir: Path, *, targets: list[str] = (), scrape_interval: str = "500ms",
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        config = {"global": {"scrape_interval": self.scrape_interval, "scrape_timeout": self.scrape_interval,
                             "evaluation_interval": "1s"},
                  "scrape_configs": [{"job_name": "mesh", "static_configs": [{"targets": self.targets}]}]
                  if self.targets else []}
        path = self.data_dir / "prometheus.yml"
        path.write_text(json.dumps(config))  # JSON is YAML
        return path

    def start(self, *, wait_for_targets: bool = True, timeout: float = 30.0) -> PrometheusServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [binary(), f"--config.file={self._config()}", f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=2h"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.data_dir / "prometheus.log").read_text(errors="replace")[-800:]
                self.stop()
                raise RuntimeError(f"Prometheus did not start: {tail}")
            time.sleep(0.05)
        if wait_for_targets and self.targets:
            while not self._scraped():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prometheus did not scrape {self.targets} within {timeout:g}s")
                time.sleep(0.1)
        return self

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=2) as response:
            return response.read()

    def _ready(self) -> bool:
        try:
            return b"Ready" in self._get("/-/ready")
        except OSError:
            return False

    def _scraped(self) -> bool:
        targets = json.loads(self._get("/api/v1/targets"))["data"]["activeTargets"]
        return bool(targets) and all(t.get("health") == "up" for t in targets)

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql, **({"time": str(at)} if at is not None else {})}
        body = json.loads(self._get("/api/v1/query?" + urllib.parse.urlencode(params)))
        return body["data"]["result"]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def backfill(openmetrics: str, data_dir: Path) -> None:
    """Write OpenMetrics text (ending with `# EOF`) as TSDB blocks into `data_dir`/tsdb with promtool,
    so a Prometheus started on it answers queries about that data at once."""
    source = data_dir / "backfill.om"
    data_dir.mkdir(parents=True, exist_ok=True)
    source.write_text(openmetrics if openmetrics.rstrip().endswith("# EOF") else openmetrics.rstrip() + "\n# EOF\n")
    done = subprocess.run([binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source),
                           str(data_dir / "tsdb")], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {(done.stderr or done.stdout)[-500:]}")


class Switch:
    """An HTTP proxy in front of a server that a test can take down: `up`, `down` (connections are
    dropped without an answer, as when Prometheus is gone) or a status such as 503."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode: str | int = "up"
        self.requests = 0
        self.authorization: list[str] = []  # the Authorization header of each request ("" when absent)
        switch = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                switch.requests += 1
                switch.authorization.append(self.headers.get("Authorization", ""))
                if switch.mode == "down":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if switch.mode != "up":
                    body = json.dumps({"status": "error", "errorType": "unavailable", "error": "switched off"}).encode()
                    self.send_response(int(switch.mode))
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                request = urllib.request.Request(switch.upstream + self.path, data=data, method=self.command,
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() not in ("host", "accept-encoding")})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload, kind = response.status, response.read(), response.headers.get("Content-Type", "")
                except urllib.error.HTTPError as error:
                    status, payload, kind = error.code, error.read(), error.headers.get("Content-Type", "")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._loopback = Loopback(Handler, name="switch")  # its own handler: "down" drops the connection

    @property
    def url(self) -> str:
        return self._loopback.url

    def close(self) -> None:
        self._loopback.stop()
