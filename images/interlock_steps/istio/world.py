"""The world the canary walks in for real: weights through the Kubernetes API, counters and custom
checks from Prometheus (canary.World)."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .judge import Reading, Side
from .kube import IstioApi
from .prometheus import Prometheus, PrometheusUnavailable, buckets, render, total
from .virtualservice import apply_weights
from .weights import describe

CHECK_KEYS = {"name", "query", "min", "max"}


def parse_checks(text: str) -> list[dict[str, Any]]:
    """Param parser for `checks`: [{"name": "cpu", "query": "<PromQL>", "max": 0.8}, …] (min and/or max)."""
    raw = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("expected a JSON array of {name, query, min, max}")
    for number, check in enumerate(raw):
        if not isinstance(check, dict) or set(check) - CHECK_KEYS or not check.get("name") or not check.get("query"):
            raise ValueError(f"check {number}: expected an object with name, query and min and/or max "
                             "(only those keys)")
        bounds = [check.get(k) for k in ("min", "max") if k in check]
        if not bounds or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):
            raise ValueError(f"check {check['name']!r}: give a numeric min, max or both")
    return raw


@dataclass
class Target:
    """What the walk changes: one route, its stable and canary destination keys, the start weights."""

    name: str
    route: str
    stable: str
    canary: str

    def weights(self, canary_weight: int) -> dict[str, int]:
        return {self.stable: 100 - canary_weight, self.canary: canary_weight}


class LiveWorld:
    def __init__(self, api: IstioApi, target: Target, prometheus: Prometheus, templates: dict[str, str],
                 placeholders: dict[str, str], workloads: dict[str, str], checks: list[dict[str, Any]], *,
                 record: Callable[..., None], plan: Callable[..., None], log: Callable[..., None],
                 sleep: Callable[[float], None], dry_run: bool = False) -> None:
        self.api, self.target, self.prometheus = api, target, prometheus
        self.templates, self.placeholders, self.workloads = templates, placeholders, workloads
        self.custom = checks
        self.record, self.plan, self.log, self._sleep = record, plan, log, sleep
        self.dry_run = dry_run

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def set_canary(self, weight: int) -> None:
        weights = self.target.weights(weight)
        applied = apply_weights(self.api, self.target.name, self.target.route, [self.target.stable, self.target.canary],
                                weights, log=self.log, dry_run=self.dry_run)
        where = f"virtualservice/{self.api.namespace}/{self.target.name} {applied.route.label}"
        if self.dry_run:  # the API server checked the patch (dryRun=All) and stored nothing
            self.plan("set weights", where, weights=describe(weights))
        else:
            self.record("set weights", where, "changed" if applied.changed else "unchanged", weights=describe(weights),
                        conflicts=applied.conflicts)

    def queries(self, side: str) -> dict[str, str]:
        values = {**self.placeholders, "workload": self.workloads[side]}
        return {name: render(template, values, name=f"query {name!r}") for name, template in self.templates.items()}

    def side(self, side: str, at: float) -> Side:
        rendered = self.queries(side)
        query = self.prometheus.query
        return Side(total(query(rendered["requests"], at)), total(query(rendered["errors"], at)),
                    buckets(query(rendered["latency"], at)))

    def read_at(self, at: float) -> Reading:
        """Every counter at instant `at`; raises PrometheusUnavailable/PrometheusError."""
        canary, stable = self.side("canary", at), self.side("stable", at)
        for name, side in (("canary", canary), ("stable", stable)):
            if math.isnan(side.requests) or math.isnan(side.errors):
                raise PrometheusUnavailable(f"the {name} counters are NaN (check the queries)")
        return Reading(at, canary, stable, {f"{side}.{name}": q for side in ("canary", "stable")
                                            for name, q in self.queries(side).items()})

    def read(self) -> Reading | str:
        try:
            return self.read_at(self.now())
        except PrometheusUnavailable as error:
            self.log("no metrics for this look", error=error.message)
            return error.message

    def checks(self) -> list[dict[str, Any]]:
        results = []
        for check in self.custom:
            query = render(check["query"], self.placeholders, name=f"check {check['name']!r}")
            try:
                samples = self.prometheus.query(query, self.now())
                value = total(samples) if samples else math.nan
            except PrometheusUnavailable:
                value = math.nan
            ok = None if math.isnan(value) else (check.get("min", -math.inf) <= value <= check.get("max", math.inf))
            results.append({"name": check["name"], "query": query, "value": None if math.isnan(value) else value,
                            "min": check.get("min"), "max": check.get("max"), "ok": ok})
        return results
