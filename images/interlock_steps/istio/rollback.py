"""istio-rollback: put back the weights a canary or set-weights run found (its `previous-weights`).

For a Pipeline's `finally`: idempotent (weights already in place change nothing) and tolerant of
what it restores, which is what was there, not necessarily a split adding up to 100. A weight
recorded as null had no `weight` field and gets none back.
"""
from __future__ import annotations

from interlock_steps import runtime as rt

from . import target
from .virtualservice import apply_weights
from .weights import describe, format_weights, parse_recorded_weights

PARAMS = [
    *target.PARAMS,
    rt.param("previous-weights", parse_recorded_weights, required=True,
             help="the previous-weights result of istio-set-weights or istio-canary-shift (JSON)"),
]


def main(step: rt.Step) -> None:
    p = step.params
    api = target.connect(step)
    restored = apply_weights(api, p.virtualservice, p.route, list(p.previous_weights), p.previous_weights,
                             log=step.log.info, dry_run=step.dry_run)
    where = f"{target.label(step)} {restored.route.label}"
    if step.dry_run:
        step.plan("restore weights", where, current=restored.previous, weights=p.previous_weights)
        step.results.write(**{"restored-weights": format_weights(restored.previous), "changed": "false"})
        return
    step.record("restore weights", where, "changed" if restored.changed else "unchanged",
                previous=describe(restored.previous), weights=describe(restored.weights), conflicts=restored.conflicts)
    step.results.write(**{"restored-weights": format_weights(restored.weights),
                          "changed": str(restored.changed).lower()})


if __name__ == "__main__":
    rt.run(main, task="istio-rollback", step="rollback", params=PARAMS,
           description="Restore the weights an earlier Istio task recorded as previous-weights.")
