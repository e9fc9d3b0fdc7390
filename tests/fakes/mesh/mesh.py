"""One simulated service behind one VirtualService route: it reads the route's current weights from
a Kubernetes API (the fake, or any API server), sends `rps` requests per second split by those
weights, and keeps Istio's metrics for every destination.

Weights are read the way a client would (GET the VirtualService with a bearer token, or with the
token in `token_file`, read at every poll as a pod re-reads its rotated ServiceAccount token) every `poll`
seconds, so a weight change made through the API changes the traffic, and therefore what Prometheus
scrapes, within `poll` seconds. Since Istio 1.15 weights are relative: a destination gets
weight / sum(weights); a lone destination without a weight gets everything.
"""
from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

from .traffic import ISTIO_BUCKETS_MS, Behaviour, Stream

LABELS = ("reporter", "source_workload", "source_workload_namespace", "source_principal", "destination_workload",
          "destination_workload_namespace", "destination_principal", "destination_service", "destination_service_name",
          "destination_service_namespace", "destination_version", "destination_canonical_service",
          "destination_canonical_revision", "request_protocol", "response_code", "grpc_response_status",
          "response_flags", "connection_security_policy")


class Mesh:
    def __init__(self, api_url: str, *, namespace: str, virtualservice: str, route: str,
                 destinations: Mapping[str, Behaviour], rps: float, token: str | None = None,
                 api_version: str = "v1", poll: float = 0.2, metrics_namespace: str | None = None,
                 source_workload: str = "productpage-v1", verify_tls: bool = False,
                 token_file: str | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.namespace, self.virtualservice, self.route = namespace, virtualservice, route
        self.metrics_namespace = metrics_namespace or namespace
        self.streams = {key: Stream(behaviour) for key, behaviour in destinations.items()}
        self.rps = rps
        self.token, self.token_file = token, token_file
        self.api_version = api_version
        self.poll = poll
        self.source_workload = source_workload
        self.shares: dict[str, float] = {}
        self.weights: dict[str, int | None] = {}
        self.read_errors = 0
        self.started = time.monotonic()
        self._last_tick = self.started
        self._last_poll = -1e9
        self._carry: dict[str, float] = {key: 0.0 for key in destinations}
        self._lock = threading.Lock()
        self._context = None if verify_tls else ssl._create_unverified_context()

    # --- weights, as the API has them ------------------------------------------------------
    def _fetch(self) -> dict[str, Any]:
        url = (f"{self.api_url}/apis/networking.istio.io/{self.api_version}/namespaces/{self.namespace}"
               f"/virtualservices/{self.virtualservice}")
        token = self.token
        if self.token_file:
            with open(self.token_file, encoding="utf-8") as file:
                token = file.read().strip()
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(request, timeout=2, context=self._context) as response:
            return json.load(response)

    def refresh_weights(self) -> None:
        try:
            vs = self._fetch()
        except OSError:
            self.read_errors += 1  # keep routing by the last weights seen, as Envoy keeps its last config
            return
        routes = [r for r in (vs.get("spec") or {}).get("http") or [] if r.get("name") == self.route]
        destinations = (routes[0].get("route") or []) if routes else []
        weights: dict[str, int | None] = {}
        for key in self.streams:
            for destination in destinations:
                target = destination.get("destination") or {}
                if key in (target.get("subset"), target.get("host"), f"{target.get('host')}/{target.get('subset')}"):
                    weights[key] = destination.get("weight")
        if len(destinations) == 1 and len(weights) == 1:
            shares = {key: 1.0 for key in weights}
        else:
            total = sum(w or 0 for w in weights.values())
            shares = {key: (weights.get(key) or 0) / total if total else 0.0 for key in self.streams}
        with self._lock:
            self.weights, self.shares = weights, {key: shares.get(key, 0.0) for key in self.streams}

    # --- traffic ---------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """Serve the requests due since the last tick."""
        now = time.monotonic() if now is None else now
        if now - self._last_poll >= self.poll:
            self._last_poll = now
            self.refresh_weights()
        with self._lock:
            elapsed, self._last_tick = now - self._last_tick, now
            for key, stream in self.streams.items():
                self._carry[key] += self.rps * elapsed * self.shares.get(key, 0.0)
                n = int(self._carry[key])
                self._carry[key] -= n
                if n:
                    stream.serve(n, now - self.started)

    # --- exposition ------------------------------------------------------------------------
    def _labels(self, behaviour: Behaviour, reporter: str, code: str) -> str:
        service = f"{self.virtualservice}.{self.namespace}.svc.cluster.local"
        version = behaviour.workload.rsplit("-", 1)[-1]
        values = {"reporter": reporter, "source_workload": self.source_workload,
                  "source_workload_namespace": self.metrics_namespace,
                  "source_principal": f"spiffe://cluster.local/ns/{self.metrics_namespace}/sa/{self.source_workload}",
                  "destination_workload": behaviour.workload, "destination_workload_namespace": self.metrics_namespace,
                  "destination_principal": f"spiffe://cluster.local/ns/{self.metrics_namespace}/sa/{self.virtualservice}",
                  "destination_service": service, "destination_service_name": self.virtualservice,
                  "destination_service_namespace": self.namespace, "destination_version": version,
                  "destination_canonical_service": self.virtualservice, "destination_canonical_revision": version,
                  "request_protocol": "http", "response_code": code, "grpc_response_status": "",
                  "response_flags": "-", "connection_security_policy": "mutual_tls" if reporter == "destination" else "unknown"}
        return ",".join(f'{name}="{values[name]}"' for name in LABELS)

    def exposition(self) -> list[str]:
        """Sample lines (without # HELP/# TYPE) for every destination, as both proxies report them."""
        lines: list[str] = []
        with self._lock:
            for stream in self.streams.values():
                c = stream.counters
                for reporter in ("destination", "source"):
                    for code, count, buckets, total_ms in (("200", c.ok, c.buckets, c.sum_ms),
                                                           ("503", c.errors, c.buckets_errors, c.sum_errors_ms)):
                        if count == 0:
                            continue  # a series appears with its first request, as Envoy's do
                        labels = self._labels(stream.behaviour, reporter, code)
                        lines.append(f"istio_requests_total{{{labels}}} {count}")
                        for bound, cumulative in zip(ISTIO_BUCKETS_MS, buckets, strict=True):
                            lines.append(f'istio_request_duration_milliseconds_bucket{{{labels},le="{bound:g}"}} {cumulative}')
                        lines.append(f'istio_request_duration_milliseconds_bucket{{{labels},le="+Inf"}} {count}')
                        lines.append(f"istio_request_duration_milliseconds_sum{{{labels}}} {total_ms:.3f}")
                        lines.append(f"istio_request_duration_milliseconds_count{{{labels}}} {count}")
        return lines

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"weights": dict(self.weights), "shares": dict(self.shares), "read_errors": self.read_errors,
                    "served": {key: {"workload": s.behaviour.workload, "requests": s.counters.requests,
                                     "errors": s.counters.errors} for key, s in self.streams.items()}}
