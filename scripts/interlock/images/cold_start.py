"""Cold start of a step image: from `podman run` to the step's first API call.

A loopback HTTP server stands in for the remote API and notes when the first request
arrives; the step is the real one, started as a Task would start it. The server answers
404, so the step stops right after that first call.
"""
from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from interlock import podman

# image name -> (command, env) of a real step whose first act is an API call to $URL
PROBES: dict[str, tuple[list[str], dict[str, str]]] = {
    "looker": (["python3", "-m", "interlock_steps.looker.refresh", "--datagroups", "1", "--max-retries", "0",
                "--results-dir", "/tmp/results"],
               {"LOOKERSDK_BASE_URL": "$URL", "LOOKERSDK_CLIENT_ID": "probe", "LOOKERSDK_CLIENT_SECRET": "probe",
                "LOOKERSDK_VERIFY_SSL": "false"}),
}


def cold_start(name: str, ref: str, timeout: float = 60.0) -> float | None:
    """Seconds from `podman run` to the first request, or None when NAME has no probe."""
    if name not in PROBES:
        return None
    command, env = PROBES[name]
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
    args = ["run", "--rm", "--pull=never", "--network", "host"]
    for key, value in env.items():
        args += ["--env", f"{key}={value.replace('$URL', url)}"]
    try:
        started = time.monotonic()
        proc = subprocess.Popen([podman.binary(), *args, ref, *command], env=podman.env(),
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
