"""istio-set-weights: set the weights of one HTTP route of an existing VirtualService.

Validates before acting: weights are integers adding up to 100, every key names exactly one
destination of the route and every destination is named, each subset exists in a DestinationRule.
Only the route's `weight` fields change; the patch carries the resourceVersion it was computed
from and is recomputed after a 409 (virtualservice.apply_weights). Weights that are already set
change nothing.
"""
from __future__ import annotations

from interlock_steps import runtime as rt

from . import target
from .virtualservice import apply_weights, check_subsets
from .weights import describe, find_route, format_weights, parse_weights

PARAMS = [
    *target.PARAMS,
    rt.param("weights", parse_weights, required=True,
             help="weights by subset or host, e.g. stable=90,canary=10 (sum 100)"),
    rt.param("verify-subsets", rt.boolean, default=True, help="check each subset against the DestinationRules"),
]


def main(step: rt.Step) -> None:
    p = step.params
    api = target.connect(step)
    keys = list(p.weights)
    vs = api.virtual_service(p.virtualservice)
    route = find_route(vs, p.route, keys)
    if p.verify_subsets:
        check_subsets(vs, route, api.destination_rules())
    applied = apply_weights(api, p.virtualservice, p.route, keys, p.weights, log=step.log.info, dry_run=step.dry_run)
    where = f"{target.label(step)} {applied.route.label}"
    if step.dry_run:
        step.plan("set weights", where, previous=applied.previous, weights=p.weights,
                  note="accepted by the API server (server-side dry run)" if applied.changed else "already set")
        step.results.write(**{"previous-weights": format_weights(applied.previous),
                              "applied-weights": format_weights(applied.previous), "changed": "false"})
        return
    step.record("set weights", where, "changed" if applied.changed else "unchanged",
                previous=describe(applied.previous), weights=describe(applied.weights), conflicts=applied.conflicts,
                resource_version=applied.resource_version)
    step.results.write(**{"previous-weights": format_weights(applied.previous),
                          "applied-weights": format_weights(applied.weights), "changed": str(applied.changed).lower()})


if __name__ == "__main__":
    rt.run(main, task="istio-set-weights", step="set-weights", params=PARAMS,
           description="Set the weights of one HTTP route of an Istio VirtualService.")
