"""Cold start of a step image: from `podman run` to the step's first API call.

A loopback HTTP server stands in for the remote API and notes when the first request
arrives; the step is the real one, started as a Task would start it. The server answers
404, so the step stops right after that first call.
"""
from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from interlock import podman

PROBE_DIR = "/probe"


@dataclass(frozen=True)
class Probe:
    """A real step whose first act is an API call to $URL: its command, its environment, and
    files it reads (mounted read-only under /probe), each with $URL replaced."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


PROBES: dict[str, Probe] = {
    "looker": Probe(["python3", "-m", "interlock_steps.looker.refresh", "--datagroups", "1", "--max-retries", "0",
                     "--results-dir", "/tmp/results"],
                    {"LOOKERSDK_BASE_URL": "$URL", "LOOKERSDK_CLIENT_ID": "probe", "LOOKERSDK_CLIENT_SECRET": "probe",
                     "LOOKERSDK_VERIFY_SSL": "false"}),
    # the kubeconfig workspace as the Task mounts it; the first call reads the VirtualService
    "istio": Probe(["python3", "-m", "interlock_steps.istio.set_weights", "--namespace", "probe", "--virtualservice",
                    "probe", "--weights", "stable=90,canary=10", "--kubeconfig-dir", PROBE_DIR, "--max-retries", "0",
                    "--results-dir", "/tmp/results"],
                   files={"kubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: probe\n"
                                        "clusters: [{name: probe, cluster: {server: '$URL'}}]\n"
                                        "users: [{name: probe, user: {token: probe}}]\n"
                                        "contexts: [{name: probe, context: {cluster: probe, user: probe}}]\n"}),
}


def cold_start(name: str, ref: str, timeout: float = 60.0) -> float | None:
    """Seconds from `podman run` to the first request, or None when NAME has no probe."""
    if name not in PROBES:
        return None
    probe = PROBES[name]
    first = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            first.set()
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    files = tempfile.TemporaryDirectory(prefix="interlock-probe-")
    args = ["run", "--rm", "--pull=never", "--network", "host"]
    for key, value in probe.env.items():
        args += ["--env", f"{key}={value.replace('$URL', url)}"]
    for filename, content in probe.files.items():
        (Path(files.name) / filename).write_text(content.replace("$URL", url))
        Path(files.name).chmod(0o755)
        (Path(files.name) / filename).chmod(0o644)
    if probe.files:
        args += ["--volume", f"{files.name}:{PROBE_DIR}:ro"]
    try:
        started = time.monotonic()
        proc = subprocess.Popen([podman.binary(), *args, ref, *probe.command], env=podman.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if not first.wait(timeout):
            proc.kill()
            raise podman.PodmanError(f"{ref}: no API call within {timeout:g}s: {(proc.communicate()[1] or '')[-300:]}")
        seconds = time.monotonic() - started
        proc.wait(timeout=timeout)
        return seconds
    finally:
        server.shutdown()
        server.server_close()
        files.cleanup()
