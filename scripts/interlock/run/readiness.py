"""Sidecar readiness: steps start once every sidecar with a `readinessProbe` passes it, as
Tekton waits for a pod's sidecars to be ready.

`exec` probes run in the sidecar (`podman exec`); `tcpSocket` and `httpGet` probes connect from
inside the sidecar's network namespace (nsenter into it, then this Python), so they work with
`--network none`. Probes are polled every min(periodSeconds, 0.25 s): sooner than a kubelet,
which only shortens the wait, never changes the outcome.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time

from interlock import podman
from interlock.run.errors import InvalidRun, Unsupported

POLL = 0.25
_CONNECT = ("import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)")
_GET = ("import sys,urllib.request; r=urllib.request.urlopen(sys.argv[1], timeout=1); "
        "sys.exit(0 if 200 <= r.status < 400 else 1)")


def check_probe(probe: object, where: str) -> None:
    """Refuse probes this runner cannot run, before anything starts."""
    if probe is None:
        return
    if not isinstance(probe, dict):
        raise InvalidRun(where, "must be a mapping")
    kinds = [k for k in ("exec", "tcpSocket", "httpGet", "grpc") if k in probe]
    if len(kinds) != 1:
        raise InvalidRun(where, "needs exactly one of exec, tcpSocket, httpGet")
    if kinds[0] == "grpc":
        raise Unsupported(f"{where}.grpc", "grpc readiness probes")
    port = (probe.get("tcpSocket") or probe.get("httpGet") or {}).get("port")
    if kinds[0] != "exec" and not isinstance(port, int):
        raise Unsupported(f"{where}.{kinds[0]}.port", "named ports (give a number)")


def _attempt(probe: dict, container: str) -> bool:
    if "exec" in probe:
        cmd = [str(c) for c in probe["exec"].get("command") or []]
        return podman.podman("exec", container, *cmd, check=False).returncode == 0
    pid = podman.podman("inspect", "--format", "{{.State.Pid}}", container, check=False).stdout.strip()
    if not pid.isdigit() or pid == "0":
        return False
    if "tcpSocket" in probe:
        t = probe["tcpSocket"]
        args = ["-c", _CONNECT, str(t.get("host") or "127.0.0.1"), str(t["port"])]
    else:
        h = probe["httpGet"]
        url = (f"{str(h.get('scheme') or 'HTTP').lower()}://{h.get('host') or '127.0.0.1'}:"
               f"{h['port']}{h.get('path') or '/'}")
        args = ["-c", _GET, url]
    proc = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, *args],
                          capture_output=True, timeout=10)
    return proc.returncode == 0


def wait_ready(probe: dict, container: str, deadline: float | None,
               cancel: threading.Event | None) -> bool:
    """True once the probe passes; False when the deadline passes or the run is cancelled."""
    time.sleep(float(probe.get("initialDelaySeconds") or 0))
    period = min(float(probe.get("periodSeconds") or 10), POLL)
    while True:
        if _attempt(probe, container):
            return True
        if (cancel is not None and cancel.is_set()) or (deadline and time.monotonic() >= deadline):
            return False
        time.sleep(period)
