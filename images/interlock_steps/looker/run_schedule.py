"""looker-run-schedule: run scheduled plans once, now (`scheduled_plan_run_once_by_id`),
chosen by id or as every plan bound to a datagroup (ScheduledPlan.datagroup holds the
datagroup's name). Every plan is looked up before any runs, so a wrong id runs nothing.
Running again sends the deliveries again: that is the point of the task, not a side effect.
"""
from __future__ import annotations

import json

from interlock_steps import runtime as rt

from .client import LookerClient, LookerError, connect
from .report import LISTED, first

PARAMS = [
    rt.param("plan-ids", rt.string_list, default=[], help="scheduled plan ids, comma-separated"),
    rt.param("datagroup", default="", help="run every plan bound to this datagroup (its name)"),
]


def select_plans(client: LookerClient, plan_ids: list[str], datagroup: str) -> list:
    plans = []
    for plan_id in dict.fromkeys(plan_ids):
        try:
            plans.append(client.call(f"scheduled plan {plan_id}", client.sdk.scheduled_plan, plan_id))
        except LookerError as error:
            if error.status == 404:
                raise rt.BadInput(f"param 'plan-ids': scheduled plan {plan_id} does not exist "
                                  "(or this user cannot see it)", param="plan-ids") from None
            raise
    if datagroup:
        bound = [p for p in client.call("list scheduled plans", client.sdk.all_scheduled_plans, all_users=True)
                 if (p.datagroup or "") == datagroup]
        if not bound:
            raise rt.BadInput(f"param 'datagroup': no scheduled plan is bound to datagroup {datagroup!r}",
                              param="datagroup")
        plans += [p for p in bound if str(p.id) not in {str(q.id) for q in plans}]
    return plans


def main(step: rt.Step) -> None:
    p = step.params
    if not p.plan_ids and not p.datagroup:
        raise rt.BadInput("nothing to run: give plan-ids or datagroup")
    client = connect(step, idempotent=False)  # a run-once POST is not safe to repeat blindly
    plans = select_plans(client, p.plan_ids, p.datagroup)
    run_ids = []
    for plan in plans:
        target = f"scheduled plan {plan.id} ({plan.name})"
        if step.dry_run:
            step.plan("run once", target)
            continue
        run = client.call(f"{target}: run once", client.sdk.scheduled_plan_run_once_by_id, str(plan.id))
        run_ids.append(str(run.id))
        step.record("run once", target, run_id=str(run.id))
    if len(plans) > LISTED:
        step.log.warning(f"{len(plans)} plans: the results list the first {LISTED}; the log and audit list all")
    step.results.write(**{"run-ids": first(run_ids), "plans": json.dumps(first([str(p.id) for p in plans]))})


if __name__ == "__main__":
    rt.run(main, task="looker-run-schedule", step="run-schedule", params=PARAMS,
           description="Run Looker scheduled plans once, by id or by datagroup.")
