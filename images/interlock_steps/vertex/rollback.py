"""vertex-rollback: put an endpoint back as vertex-deploy found it, for a Pipeline's `finally`.

1. Check `previous-traffic` (vertex-deploy's result) before any call.
2. Read the endpoint as it is now. When `deployed-model-id` is still on it, take it off, giving
   the traffic back as `previous-traffic` in the same call (undeployModel's traffic_split);
   otherwise, when the split differs from `previous-traffic`, set it. Nothing else changes: the
   uploaded model version stays in the Model Registry (serving nothing), so a re-run of the
   pipeline finds it instead of uploading it again.
3. Idempotent: after vertex-verify rolled back by itself, or run twice, it finds nothing to do
   (`rolled-back: none`).
"""
from __future__ import annotations

import json

from interlock_steps import runtime as rt

from . import endpoints
from .client import CONNECTION_PARAMS, connect
from .waiting import Backoff

PARAMS = [
    *CONNECTION_PARAMS,
    rt.param("endpoint", required=True, help="endpoint id or resource name (vertex-deploy's endpoint)"),
    rt.param("previous-traffic", rt.json_value, required=True,
             help="traffic split to restore (vertex-deploy's previous-traffic, JSON)"),
    rt.param("deployed-model-id", default="", help="deployment to take off (vertex-deploy's deployed-model-id)"),
    rt.param("poll-interval", rt.positive_seconds, default=5.0, help="first wait between polls, in seconds"),
]


def validate(step: rt.Step) -> dict[str, int]:
    previous = step.params.previous_traffic
    if not isinstance(previous, dict):
        raise rt.BadInput("param 'previous-traffic' must be a JSON object of deployed-model id to percent "
                          "(vertex-deploy's result), e.g. {\"123\": 100}", param="previous-traffic")
    return endpoints.checked({str(k): v for k, v in previous.items()}, "param 'previous-traffic'")


def main(step: rt.Step) -> None:
    p = step.params
    previous = validate(step)
    vertex = connect(step)
    endpoint = endpoints.get(vertex, endpoints.endpoint_name(p.endpoint, vertex.parent))
    if step.dry_run:
        deployed = {d.id for d in endpoint.deployed_models}
        action = "undeploy model" if p.deployed_model_id in deployed else "restore endpoint traffic"
        step.plan(action, endpoint.name, traffic=previous, current=endpoints.traffic(endpoint),
                  deployed_model_id=p.deployed_model_id)
        step.results.write(**{"restored-traffic": _json(endpoints.traffic(endpoint)), "rolled-back": "none"})
        return
    done = endpoints.restore(vertex, endpoint.name, previous, p.deployed_model_id, Backoff(initial=p.poll_interval))
    if done == "none":
        step.log.info("nothing to roll back: the endpoint is as recorded", target=endpoint.name, traffic=previous)
    step.results.write(**{"restored-traffic": _json(previous), "rolled-back": done})


def _json(split: dict[str, int]) -> str:
    return json.dumps(split, sort_keys=True, separators=(",", ":"))


if __name__ == "__main__":
    rt.run(main, task="vertex-rollback", step="rollback", params=PARAMS,
           description="Restore an endpoint's traffic split and take the new deployment off (vertex-deploy undone).")
