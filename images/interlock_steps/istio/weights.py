"""Route weights of a VirtualService: which route, which destination, what to patch.

Pure functions over the VirtualService as the API returns it (a dict), so they are tested without
a cluster. Vocabulary:

- a *key* names one destination of a route: its subset (`canary`), its host as written in the
  VirtualService (`reviews`), or `host/subset` (`reviews/canary`); a key must match exactly one
  destination of the route.
- *weights* map keys to integers; a weight that is absent from the object is `None` (Istio reads
  it as 0, or as 100 for a lone destination), so a rollback can restore "absent" exactly.

A change is a JSON Patch (RFC 6902) that touches only `/spec/http/<i>/route/<j>/weight` and that
carries the resourceVersion it was computed from: the API server refuses it with 409 when anyone
wrote the object since (apiserver: a patch whose result sets metadata.resourceVersion is an update
with that precondition). Everything else in the object stays byte-for-byte as it was.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interlock_steps.runtime import BadInput

Weights = dict[str, "int | None"]
MAX_WEIGHT = 100


def parse_weights(text: str) -> dict[str, int]:
    """Param parser: `stable=90,canary=10` or a JSON object `{"stable": 90, "canary": 10}`;
    integers 0..100 that add up to 100 (our rule: since Istio 1.15 weights are relative, but a
    pipeline that says 90/10 should mean percent)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        raw = json.loads(stripped)
        if not isinstance(raw, dict):
            raise ValueError("expected a JSON object of destination to weight")
        items = list(raw.items())
    else:
        items = []
        for part in filter(None, (p.strip() for p in stripped.replace(";", ",").split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"{part!r} is not KEY=WEIGHT")
            items.append((key.strip(), value.strip()))
    weights: dict[str, int] = {}
    for key, value in items:
        if not key:
            raise ValueError("a destination key is empty")
        if key in weights:
            raise ValueError(f"destination {key!r} appears twice")
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            raise ValueError(f"weight of {key!r} must be an integer 0..100, got {value!r}")
        weight = int(value)
        if not 0 <= weight <= MAX_WEIGHT:
            raise ValueError(f"weight of {key!r} must be 0..100, got {weight}")
        weights[key] = weight
    if not weights:
        raise ValueError("no weights given")
    if sum(weights.values()) != MAX_WEIGHT:
        raise ValueError(f"weights must add up to 100, these add up to {sum(weights.values())}")
    return weights


def parse_recorded_weights(text: str) -> Weights:
    """Param parser for `previous-weights` as the tasks write it: a JSON object of key to integer or
    null (no weight field). Not required to add up to 100: it is what was found, restored as it was."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or not raw:
        raise ValueError('expected a non-empty JSON object of destination to weight, e.g. {"stable":100,"canary":0}')
    for key, value in raw.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"weight of {key!r} must be a non-negative integer or null, got {value!r}")
    return dict(raw)


def format_weights(weights: Mapping[str, int | None]) -> str:
    """The compact JSON the results use (and `previous-weights` parses back)."""
    return json.dumps(dict(weights), separators=(",", ":"))


def describe(weights: Mapping[str, int | None]) -> str:
    return ",".join(f"{k}={'unset' if v is None else v}" for k, v in weights.items())


@dataclass(frozen=True)
class Route:
    """One HTTP route of a VirtualService and how each key maps onto its destinations."""

    index: int
    name: str | None
    slots: dict[str, int]  # key -> index in route[]

    @property
    def label(self) -> str:
        return f"http[{self.index}]" + (f" ({self.name})" if self.name else "")


def _names(destination: Mapping[str, Any]) -> set[str]:
    target = destination.get("destination") or {}
    host, subset = target.get("host"), target.get("subset")
    names = {host} if host else set()
    if subset:
        names |= {subset, f"{host}/{subset}"}
    return names


def _label(destination: Mapping[str, Any]) -> str:
    target = destination.get("destination") or {}
    return f"{target.get('host')}/{target.get('subset')}" if target.get("subset") else str(target.get("host"))


def _slots(route: list[Mapping[str, Any]], keys: list[str]) -> dict[str, int] | str:
    """key -> destination index when the keys name every destination exactly once, else why not."""
    slots: dict[str, int] = {}
    for key in keys:
        hits = [j for j, destination in enumerate(route) if key in _names(destination)]
        if len(hits) != 1:
            found = ", ".join(_label(d) for d in route) or "none"
            return (f"{key!r} matches {len(hits)} destinations (destinations: {found})" if hits
                    else f"no destination matches {key!r} (destinations: {found})")
        slots[key] = hits[0]
    if len(set(slots.values())) != len(slots):
        return "two keys name the same destination"
    unnamed = [_label(route[j]) for j in range(len(route)) if j not in slots.values()]
    if unnamed:
        return f"destinations without a weight given: {', '.join(unnamed)} (name every destination of the route)"
    return slots


def http_routes(vs: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(((vs.get("spec") or {}).get("http")) or [])


def find_route(vs: Mapping[str, Any], route_name: str, keys: list[str]) -> Route:
    """The route to change: by name, or else the only one whose destinations the keys name exactly."""
    name = (vs.get("metadata") or {}).get("name", "?")
    routes = http_routes(vs)
    if route_name:
        indexes = [i for i, r in enumerate(routes) if r.get("name") == route_name]
        if not indexes:
            known = ", ".join(repr(r.get("name")) for r in routes if r.get("name")) or "no named routes"
            raise BadInput(f"VirtualService {name}: no HTTP route named {route_name!r} ({known})", param="route")
        index = indexes[0]
        slots = _slots(routes[index].get("route") or [], keys)
        if isinstance(slots, str):
            raise BadInput(f"VirtualService {name} route {route_name!r}: {slots}", param="route")
        return Route(index, route_name, slots)
    candidates, misses = [], []
    for index, r in enumerate(routes):
        slots = _slots(r.get("route") or [], keys)
        if isinstance(slots, str):
            misses.append(f"{Route(index, r.get('name'), {}).label}: {slots}")
        else:
            candidates.append(Route(index, r.get("name"), slots))
    if len(candidates) != 1:
        what = ", ".join(c.label for c in candidates) if candidates else "; ".join(misses) or "no HTTP routes"
        raise BadInput(f"VirtualService {name}: {len(candidates)} HTTP routes have exactly the destinations "
                       f"{', '.join(keys)} ({what}); set param 'route' to the route's name", param="route")
    return candidates[0]


def weights_of(vs: Mapping[str, Any], route: Route) -> Weights:
    destinations = http_routes(vs)[route.index].get("route") or []
    return {key: destinations[slot].get("weight") for key, slot in route.slots.items()}


def effective(weights: Mapping[str, int | None]) -> dict[str, int]:
    """What Istio routes by: an absent weight is 0, except that a lone destination takes everything."""
    if len(weights) == 1:
        return {key: MAX_WEIGHT for key in weights}
    return {key: value or 0 for key, value in weights.items()}


def weight_patch(vs: Mapping[str, Any], route: Route, target: Mapping[str, int | None]) -> list[dict[str, Any]]:
    """The JSON Patch that sets `target` on the route, or [] when Istio already routes by it.

    Its first operation sets the resourceVersion that was read: a stale patch is refused (409).
    `None` in `target` removes the weight field (restoring an object that had none)."""
    current = weights_of(vs, route)
    if None not in target.values() and effective(current) == dict(target):
        return []  # Istio already routes so (e.g. a lone destination without a weight, asked for 100)
    ops: list[dict[str, Any]] = []
    for key, slot in route.slots.items():
        if key not in target or target[key] == current[key]:
            continue
        path = f"/spec/http/{route.index}/route/{slot}/weight"
        ops.append({"op": "remove", "path": path} if target[key] is None
                   else {"op": "add", "path": path, "value": target[key]})
    if not ops:
        return []
    return [{"op": "replace", "path": "/metadata/resourceVersion", "value": vs["metadata"]["resourceVersion"]}, *ops]


def check_keys(target: Mapping[str, Any], route: Route, param: str) -> None:
    missing = sorted(set(route.slots) - set(target))
    extra = sorted(set(target) - set(route.slots))
    if missing or extra:
        raise BadInput(f"param {param!r}: keys {sorted(target)} do not match the destinations of {route.label} "
                       f"({sorted(route.slots)})", param=param)
