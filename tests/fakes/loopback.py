"""What every fake server here shares: an HTTP(S) server on loopback in a daemon thread, and the
standalone `python -m tests.fakes.<fake>` loop (first stdout line: the URL; Ctrl-C or SIGTERM ends it)."""
from __future__ import annotations

import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a client opening 10+ connections at once would
    # see SYNs dropped and retried a second later
    request_queue_size = 128
    daemon_threads = True


class Loopback:
    """Serves `handler` on host:port (0: a free port) until stop(); https with `tls` = (cert, key)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[Path, Path] | None = None, name: str = "fake") -> None:
        if host not in LOOPBACK:
            raise ValueError(f"{name}: host {host!r}: the fakes only listen on loopback")
        self.server = _Server((host, port), handler)
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


def serve_until_stopped(url: str) -> None:
    """Print `url` as the first line of stdout, then block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(url, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
