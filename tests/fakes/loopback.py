"""What every fake server here shares: an HTTP(S) server on loopback in a daemon thread, and the
standalone `python -m tests.fakes.<fake>` loop (first stdout line: the URL; Ctrl-C or SIGTERM ends it).

A fake derives from `Served`: it says where to listen (`_listen`), answers `handle(Request) -> Reply`
(and `crashed(Request, exception) -> Reply` when its own handling raises), and gets start, stop,
`with`, address and url. `CallLog` is its record of the calls it saw.
"""
from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")
IN_CONTAINER = "0.0.0.0"


def check_host(host: str, name: str, in_container: bool = False) -> None:
    """ValueError unless `host` is loopback, or 0.0.0.0 for a fake asked to serve from a container."""
    if host not in LOOPBACK and not (in_container and host == IN_CONTAINER):
        raise ValueError(f"{name}: host {host!r}: the fakes only listen on loopback"
                         + ("" if in_container else " (0.0.0.0 only with --in-container)"))


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    """--port and --in-container, as every standalone fake takes them."""
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--in-container", action="store_true",
                        help="listen on every interface (0.0.0.0): only for the fakes' container image, which "
                             "the kind e2e harness runs as pods behind Services")


@dataclass
class Request:
    method: str
    path: str                       # without the query string
    query: dict[str, str]           # last value of each parameter
    headers: dict[str, str]         # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The JSON body, None when there is none; ValueError when it is not JSON."""
        return json.loads(self.text) if self.body else None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.text, keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int
    body: Any = None                 # JSON-encoded unless `text` is set
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if self.status == 204:
            return b""
        return (self.text if self.text is not None else json.dumps(self.body)).encode("utf-8")


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a client opening 10+ connections at once would
    # see SYNs dropped and retried a second later
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-answer (a timeout, Prometheus stopping) is normal for a fake:
        socketserver would print a traceback into whatever stderr the test is capturing."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Loopback:
    """Serves `handler` on host:port (0: a free port) until stop(); https with `tls` = (cert, key)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[Path, Path] | None = None, name: str = "fake", in_container: bool = False) -> None:
        host = IN_CONTAINER if in_container else host
        check_host(host, name, in_container)
        self.server = LoopbackHTTPServer((host, port), handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        # a short poll interval keeps stop() fast (shutdown waits for the current poll)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), name=name, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Served:
    """start, stop, `with`, address and url of a fake answering `handle(Request) -> Reply` on loopback."""

    name = "fake"
    _loopback: Loopback | None = None
    _host, _port, _tls, _in_container = "127.0.0.1", 0, None, False

    def _listen(self, name: str, *, host: str = "127.0.0.1", port: int = 0, tls: tuple[Path, Path] | None = None,
                in_container: bool = False) -> None:
        """Where to serve (checked now, before anything starts): loopback, or 0.0.0.0 in a container."""
        check_host(host, name, in_container)
        self.name, self._host, self._port, self._tls, self._in_container = name, host, port, tls, in_container

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def crashed(self, request: Request, exc: Exception) -> Reply:
        """The answer when `handle` raised: a bug in a fake must reach the test as a 500, not a hang.
        In Google's error shape (the Google fakes); the Looker and Kubernetes fakes answer in their own."""
        return Reply(500, {"error": {"code": 500, "message": f"{self.name} crashed: {type(exc).__name__}: {exc}",
                                     "status": "INTERNAL"}})

    def _serve(self) -> Loopback:
        handler = type(f"{self.name}-handler", (_Handler,), {"owner": self})
        return Loopback(handler, host=self._host, port=self._port, tls=self._tls, name=self.name,
                        in_container=self._in_container)

    def start(self):  # -> self
        self._loopback = self._serve()
        return self

    def stop(self) -> None:
        if self._loopback is not None:
            self._loopback.stop()
            self._loopback = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """host:port, for settings that take a host, not a URL (GCE_METADATA_HOST, a scrape target)."""
        if self._loopback is None:
            raise RuntimeError(f"{type(self).__name__} is not started: call start() or use it as a context manager")
        return self._loopback.address

    @property
    def url(self) -> str:
        address = self.address
        return f"{self._loopback.scheme}://{address}"


class CallLog:
    """A fake's calls (`calls`), appended under `_lock` with their sequence number."""

    calls: list[Any]
    _lock: threading.Lock

    def _record(self, call: Any) -> Any:
        with self._lock:
            call.seq = len(self.calls)
            self.calls.append(call)
        return call


def wait_until_stopped(url: str) -> None:
    """Print `url` as the first line of stdout, then block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(url, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


def serve_until_stopped(fake: Served) -> None:
    """Run a fake standalone: print its URL on the first line of stdout, serve until Ctrl-C or SIGTERM."""
    with fake:
        wait_until_stopped(fake.url)


class _Handler(BaseHTTPRequestHandler):
    owner: Served
    protocol_version = "HTTP/1.1"   # keep-alive, as Google's front ends, API servers and the clients' pools expect
    # headers and body go out in two writes: without TCP_NODELAY each answer waits ~40 ms (Nagle)
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        request = Request(self.command, urllib.parse.unquote(url.path), query,
                          {k.lower(): v for k, v in self.headers.items()}, body)
        try:
            reply = self.owner.handle(request)
        except Exception as exc:
            reply = self.owner.crashed(request, exc)
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the fakes record calls themselves
        pass
