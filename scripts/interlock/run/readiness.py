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
    for key in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
                "failureThreshold"):
        value = probe.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value <= 2**31 - 1):
            raise InvalidRun(f"{where}.{key}", f"{value!r} is not a number of seconds/times")
    action = probe[kinds[0]]
    if not isinstance(action, dict):
        raise InvalidRun(f"{where}.{kinds[0]}", "must be a mapping")
    if kinds[0] == "exec":
        command = action.get("command")
        if not isinstance(command, list) or not command:
            raise InvalidRun(f"{where}.exec.command", "must be a non-empty list of strings")
        return
    port = action.get("port")
    if isinstance(port, str):
        raise Unsupported(f"{where}.{kinds[0]}.port", "named ports (give a number)")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InvalidRun(f"{where}.{kinds[0]}.port", f"{port!r} is not a port number (1-65535)")
    # Kubernetes' URIScheme: HTTP or HTTPS (the probe runs on the host, in the sidecar's network)
    if kinds[0] == "httpGet" and str(action.get("scheme") or "HTTP") not in ("HTTP", "HTTPS"):
        raise InvalidRun(f"{where}.httpGet.scheme", f"{action.get('scheme')!r} is not HTTP or HTTPS")


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
    stop = cancel or threading.Event()
    delay = float(probe.get("initialDelaySeconds") or 0)
    if deadline is not None:
        delay = min(delay, max(0.0, deadline - time.monotonic()))
    if stop.wait(delay):
        return False
    period = min(float(probe.get("periodSeconds") or 10), POLL)
    while True:
        if _attempt(probe, container):
            return True
        if stop.is_set() or (deadline and time.monotonic() >= deadline):
            return False
        stop.wait(period)
