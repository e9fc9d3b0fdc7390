"""Prometheus: the PromQL the canary analysis runs, as named templates in one map, and a small client
for the HTTP API's instant queries.

The templates read Istio's standard metrics as the destination proxy reports them
(reporter="destination"), one workload at a time, like Flagger's Istio observer
(fluxcd/flagger pkg/metrics/observers/istio.go). They differ in one way on purpose: they read the raw
cumulative counters, not `rate()` or `increase()` over a window. The analysis reads every counter at
one instant per look and subtracts the previous look, which gives exact counts between looks: no
extrapolation to the window's edges, and a series' first sample (the first 5xx a workload ever
answers appears as a new series at 1) is counted, which increase() misses.

Placeholders are written `{{ name }}`: namespace, workload (one side's destination_workload), and for
custom checks canary, stable, interval (seconds, e.g. `60s`). Values are escaped for PromQL string
literals. Override any template with the `queries` param (a JSON object of name to template).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interlock_steps.runtime import BadInput, Deadline, StepError, TargetFailed

_SELECTOR = ('reporter="destination",destination_workload_namespace="{{ namespace }}",'
             'destination_workload="{{ workload }}"')
QUERIES: dict[str, str] = {
    # every request the workload answered
    "requests": f"sum(istio_requests_total{{{_SELECTOR}}})",
    # the ones it answered with a 5xx
    "errors": f'sum(istio_requests_total{{{_SELECTOR},response_code=~"5.."}})',
    # its latency histogram in milliseconds, one series per bucket bound
    "latency": f"sum by (le) (istio_request_duration_milliseconds_bucket{{{_SELECTOR}}})",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def escape(value: str) -> str:
    """A value inside a PromQL double-quoted string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(template: str, values: Mapping[str, str], *, name: str = "query") -> str:
    """`template` with each `{{ placeholder }}` replaced by its escaped value; BadInput for an unknown one."""
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise BadInput(f"{name}: unknown placeholder {{{{ {key} }}}} (known: {', '.join(sorted(values))})",
                           param="queries")
        return escape(values[key])

    return _PLACEHOLDER.sub(substitute, template)


def parse_queries(text: str) -> dict[str, str]:
    """Param parser for `queries`: a JSON object overriding some of QUERIES by name."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v.strip() for v in raw.values()):
        raise ValueError("expected a JSON object of query name to PromQL template")
    unknown = sorted(set(raw) - set(QUERIES))
    if unknown:
        raise ValueError(f"unknown query names {unknown} (known: {sorted(QUERIES)})")
    return raw


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class PrometheusError(TargetFailed):
    """Prometheus refused a query (bad PromQL, execution error): retrying will not help."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached or answered 5xx after the retries: no data for now."""


class Prometheus:
    """Instant queries against /api/v1/query, through the runtime's retrying session."""

    def __init__(self, session: Any, url: str, *, timeout: float, deadline: Deadline, token: str | None = None) -> None:
        if not re.match(r"^https?://[^/\s]+", url or ""):
            raise BadInput(f"param 'prometheus-url': expected http(s)://host[:port][/path], got {url!r}",
                           param="prometheus-url")
        self.session = session
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.deadline = deadline
        if token:
            session.headers["Authorization"] = f"Bearer {token}"

    def query(self, promql: str, at: float | None = None) -> list[Sample]:
        """The instant vector (or scalar, as one sample) of `promql` evaluated at `at` (unix seconds)."""
        import requests

        form = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        self.deadline.check("querying Prometheus")
        try:
            response = self.session.post(f"{self.url}/api/v1/query", data=form, timeout=self.deadline.cap(self.timeout))
        except StepError:
            raise
        except requests.RequestException as error:
            raise PrometheusUnavailable(f"Prometheus at {self.url}: {type(error).__name__}: {_short(error)}",
                                        target=self.url) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise PrometheusUnavailable(f"Prometheus at {self.url}: HTTP {response.status_code}: "
                                        f"{body.get('error') or _short(response.text)}", target=self.url)
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"Prometheus refused {promql!r}: HTTP {response.status_code} "
                                  f"{body.get('errorType', '')}: {body.get('error') or _short(response.text)}",
                                  target=self.url, status=response.status_code)
        data = body.get("data") or {}
        if data.get("resultType") == "scalar":
            return [Sample({}, float(data["result"][1]))]
        if data.get("resultType") != "vector":
            raise PrometheusError(f"{promql!r}: expected an instant vector, got a {data.get('resultType')}",
                                  target=self.url)
        return [Sample(item.get("metric") or {}, float(item["value"][1])) for item in data.get("result") or []]


def total(samples: list[Sample]) -> float:
    """The sum of a vector; 0 for an empty one (no series: nothing was counted). NaN stays NaN."""
    return math.fsum(s.value for s in samples) if samples else 0.0


def buckets(samples: list[Sample]) -> dict[float, float]:
    """`le` bound -> cumulative count, from a `sum by (le)` vector."""
    found: dict[float, float] = {}
    for sample in samples:
        if "le" not in sample.labels:
            raise PrometheusError(f"latency query: a series without an 'le' label: {sample.labels}")
        found[float(sample.labels["le"])] = sample.value
    return found


def _short(value: object) -> str:
    return " ".join(str(value).split())[:300]
