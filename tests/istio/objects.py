"""The objects the Istio tests work on: a VirtualService whose canary route sits among routes,
headers, retries and a mirror that must never change, and its DestinationRule."""
from __future__ import annotations

import copy
from typing import Any

NAMESPACE = "shop"
NAME = "reviews"
TOKEN = "deployer-token-5f2c1e9a7b"
USER = "system:serviceaccount:shop:deployer"


def virtual_service(stable: int | None = 100, canary: int | None = 0, *, name: str = NAME) -> dict[str, Any]:
    def destination(subset: str, weight: int | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"destination": {"host": "reviews", "subset": subset, "port": {"number": 9080}}}
        if weight is not None:
            entry["weight"] = weight
        return entry

    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "reviews"}},
        "spec": {
            "hosts": ["reviews"],
            "gateways": ["mesh"],
            "http": [
                {"name": "admin", "match": [{"headers": {"x-admin": {"exact": "1"}}}],
                 "headers": {"request": {"set": {"x-route": "admin"}}},
                 "route": [{"destination": {"host": "reviews", "subset": "stable"}}]},
                {"name": "primary",
                 "retries": {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"},
                 "timeout": "10s",
                 "mirror": {"host": "reviews-shadow"},
                 "mirrorPercentage": {"value": 5.0},
                 "headers": {"response": {"add": {"x-served-by": "mesh"}}},
                 "route": [destination("stable", stable), destination("canary", canary)]},
            ],
        },
    }


def destination_rule(subsets: tuple[str, ...] = ("stable", "canary")) -> dict[str, Any]:
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "reviews", "namespace": NAMESPACE},
            "spec": {"host": "reviews.shop.svc.cluster.local",
                     "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]}}


def weights(vs: dict[str, Any], route: int = 1) -> dict[str, Any]:
    return {d["destination"]["subset"]: d.get("weight") for d in vs["spec"]["http"][route]["route"]}


def without_weights(vs: dict[str, Any]) -> dict[str, Any]:
    """Everything but the weight fields and the server-set metadata: what must never change."""
    out = copy.deepcopy(vs)
    for route in out["spec"]["http"]:
        for destination in route.get("route", []):
            destination.pop("weight", None)
    out["metadata"] = {k: v for k, v in out["metadata"].items()
                       if k not in ("resourceVersion", "generation", "uid", "creationTimestamp", "annotations")}
    return out
