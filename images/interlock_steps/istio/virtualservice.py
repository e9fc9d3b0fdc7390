"""Read a VirtualService, check its route against the DestinationRules, and change its weights
without ever clobbering someone else's edit.

`apply_weights` is the one way weights change: read, compute the JSON Patch from what was read,
send it with that resourceVersion; on 409 (someone wrote the object in between) read again and
recompute from the fresh object, so a concurrent edit of another route, a header or a retry policy
is kept. A patch that would change nothing is not sent (idempotent: a re-run is a no-op).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from interlock_steps.runtime import BadInput, TargetFailed

from .kube import IstioApi, KubeError
from .weights import Route, Weights, find_route, http_routes, weight_patch, weights_of

MAX_CONFLICTS = 10


@dataclass(frozen=True)
class Applied:
    route: Route
    previous: Weights  # what the object had when the change was computed (the last read)
    weights: Weights  # what it has now (or would have, in a dry run)
    changed: bool
    conflicts: int  # 409 answers met on the way
    resource_version: str


def apply_weights(api: IstioApi, name: str, route_name: str, keys: list[str], target: Mapping[str, int | None], *,
                  log: Callable[..., None], dry_run: bool = False, max_conflicts: int = MAX_CONFLICTS) -> Applied:
    """Set `target` on the route; re-read and re-apply on 409 up to `max_conflicts` times.

    `dry_run` sends the patch with dryRun=All: the API server (and Istio's validating webhook)
    checks it and persists nothing."""
    for conflicts in range(max_conflicts + 1):
        vs = api.virtual_service(name)
        route = find_route(vs, route_name, keys)
        current = weights_of(vs, route)
        operations = weight_patch(vs, route, target)
        if not operations:
            return Applied(route, current, current, False, conflicts, vs["metadata"]["resourceVersion"])
        try:
            result = api.patch_virtual_service(name, operations, dry_run=dry_run)
        except KubeError as error:
            if error.status != 409:
                raise
            log("conflict: the VirtualService changed since it was read; reading it again",
                target=f"virtualservice/{name}", conflicts=conflicts + 1)
            continue
        return Applied(route, current, weights_of(result, route), True, conflicts,
                       result["metadata"]["resourceVersion"])
    raise TargetFailed(f"VirtualService {api.namespace}/{name}: still conflicting after {max_conflicts} re-reads "
                       "(another writer keeps changing it); nothing was changed by this step",
                       target=f"virtualservice/{name}")


def _fqdn(host: str, namespace: str) -> str:
    """Istio's short names: `reviews` and `reviews.shop` mean reviews.shop.svc.cluster.local."""
    parts = host.split(".")
    if len(parts) == 1:
        return f"{host}.{namespace}.svc.cluster.local"
    if len(parts) == 2:
        return f"{host}.svc.cluster.local"
    if host.endswith(".svc"):
        return f"{host}.cluster.local"
    return host


def _rule_host(rule: Mapping[str, Any], namespace: str) -> str:
    return _fqdn(str((rule.get("spec") or {}).get("host")), (rule.get("metadata") or {}).get("namespace", namespace))


def check_subsets(vs: Mapping[str, Any], route: Route, rules: list[Mapping[str, Any]]) -> None:
    """Every subset the route sends traffic to is defined by a DestinationRule of its host (Istio
    answers 503 "no healthy upstream" for an undefined one)."""
    namespace = (vs.get("metadata") or {}).get("namespace", "")
    destinations = http_routes(vs)[route.index].get("route") or []
    for key, slot in route.slots.items():
        target = destinations[slot].get("destination") or {}
        subset = target.get("subset")
        if not subset:
            continue
        host = _fqdn(str(target.get("host")), namespace)
        defined = [s.get("name") for rule in rules if _rule_host(rule, namespace) == host
                   for s in (rule.get("spec") or {}).get("subsets") or []]
        if subset not in defined:
            where = f"defines subsets {sorted(filter(None, defined))}" if defined else "has no DestinationRule for it"
            raise BadInput(f"destination {key!r} ({target.get('host')}/{subset}): namespace {namespace} {where}; "
                           "define the subset, or set verify-subsets to false if its DestinationRule lives elsewhere",
                           param="verify-subsets")
