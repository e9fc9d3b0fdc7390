"""looker-refresh: make Looker serve fresh data after a deploy.

In this order, so that warmed caches hold the new data: (1) trigger or reset datagroups,
(2) rebuild PDTs, (3) warm dashboards. Every target is checked before anything changes:
unknown datagroups, PDT views or dashboards fail the step with nothing touched.
"""
from __future__ import annotations

import json
import time

from interlock_steps import runtime as rt
from interlock_steps.runtime.report import REPORT_DIR, write_report

from . import datagroups, pdt, warming
from .client import connect
from .report import fail_on, first, listing, too_many

class Stopwatch:
    """Seconds spent in each phase, for the report."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.laps[phase] = round(now - self._last, 3)
        self._last = now


PARAMS = [
    rt.param("datagroups", rt.string_list, default=[], help="datagroup ids or model::name, comma-separated"),
    rt.param("datagroup-action", default="trigger", help="trigger (triggered_at=now) or reset (stale_before=now)"),
    rt.param("pdt-model", default="", help="model whose PDTs to rebuild"),
    rt.param("pdt-views", rt.string_list, default=[], help="views (PDTs) of pdt-model to rebuild"),
    rt.param("force-full-incremental", rt.boolean, default=False, help="rebuild incremental PDTs in full"),
    rt.param("dashboard-ids", rt.string_list, default=[], help="dashboards to warm"),
    rt.param("concurrency", warming.concurrency, default=10, help="queries in flight at once (1-15)"),
    rt.param("query-timeout", rt.positive_seconds, default=300.0, help="seconds one query may take"),
    rt.param("fail-on", fail_on, default="any", help="any, none, a count (3) or a share (10%) of failed queries"),
    REPORT_DIR,
]


def validate(step: rt.Step) -> None:
    p = step.params
    if p.datagroup_action not in datagroups.ACTIONS:
        raise rt.BadInput(f"param 'datagroup-action' must be trigger or reset, got {p.datagroup_action!r}",
                          param="datagroup-action")
    if bool(p.pdt_model) != bool(p.pdt_views):
        raise rt.BadInput("params 'pdt-model' and 'pdt-views' go together: give both or neither", param="pdt-views")
    if not (p.datagroups or p.pdt_views or p.dashboard_ids):
        raise rt.BadInput("nothing to refresh: give datagroups, pdt-model with pdt-views, or dashboard-ids")


def main(step: rt.Step) -> None:
    p = step.params
    validate(step)
    # PATCH of a datagroup to a timestamp and creating identical queries are safe to repeat.
    client = connect(step, idempotent=True)
    clock = Stopwatch()
    # 1. Resolve every target first: nothing changes if one is unknown.
    groups = datagroups.resolve(client, p.datagroups)
    views = pdt.resolve(client, p.pdt_model, p.pdt_views)
    skipped: list[dict] = []
    tiles = [t for d in p.dashboard_ids for t in warming.dashboard_tiles(client, d, skipped=skipped)]
    clock.lap("resolve")
    step.log.info("plan", datagroups=len(groups), pdts=len(views), dashboards=len(p.dashboard_ids),
                  tiles=len(tiles), queries=len({t.query_id for t in tiles}))
    if step.dry_run:
        for g in groups:
            step.plan(f"{p.datagroup_action} datagroup", g.label)
        for view in views:
            step.plan("rebuild pdt", f"{p.pdt_model}::{view}")
        for t in tiles:
            step.plan("warm tile", f"dashboard {t.dashboard_id} element {t.element_id}", query_id=t.query_id)
        step.results.write(**{"datagroups-updated": "0", "pdts-built": "0", "queries-run": "0",
                              "queries-failed": "0", "summary": json.dumps({"dry_run": True})})
        return
    # 2. Datagroups, then PDTs, then dashboards: data before warming.
    now = int(time.time())
    updated = []
    for g in groups:
        updated.append(datagroups.update(client, g, p.datagroup_action, now))
        step.record(f"{p.datagroup_action} datagroup", g.label)
    clock.lap("datagroups")
    builds = pdt.rebuild(client, p.pdt_model, views, force_full_incremental=p.force_full_incremental,
                         deadline=step.deadline, log=step.log.info, sleep=step.sleep) if views else []
    for b in builds:
        step.record("rebuild pdt", b.target, "ok" if b.ok else b.status, message=b.message)
    clock.lap("pdts")
    outcomes = warming.warm(client, tiles, concurrency=p.concurrency, query_timeout=p.query_timeout,
                            deadline=step.deadline, log=step.log.info, sleep=step.sleep)
    clock.lap("warm")
    failed_queries = {o.tile.query_id for o in outcomes if not o.ok}
    queries = {o.tile.query_id for o in outcomes}
    failed_builds = [b for b in builds if not b.ok]
    summary = {"datagroups": len(updated),
               "pdts": {"built": len(builds) - len(failed_builds), "failed": first([b.view for b in failed_builds]),
                        "failed_count": len(failed_builds)},
               "tiles": len(tiles), "queries": len(queries), "failed_queries": first(sorted(failed_queries)),
               "skipped_tiles": len(skipped)}
    report = {"datagroups": updated, "pdt_builds": [b.report() for b in builds],
              "tiles": [o.report() for o in outcomes], "skipped": skipped, "summary": summary,
              "seconds": clock.laps}
    write_report(p.report_dir, "looker-refresh.json", report, step.log)
    step.results.write(**{"datagroups-updated": str(len(updated)), "pdts-built": str(len(builds) - len(failed_builds)),
                          "queries-run": str(len(queries)), "queries-failed": str(len(failed_queries)),
                          "summary": json.dumps(summary, separators=(",", ":"))})
    if failed_builds:
        raise rt.TargetFailed(f"{len(failed_builds)} PDT build(s) failed: "
                              + listing([f"{b.target}: {b.status} {b.message}".strip() for b in failed_builds]))
    if too_many(len(failed_queries), len(queries), p.fail_on):
        raise rt.TargetFailed(f"{len(failed_queries)} of {len(queries)} queries failed (fail-on={p.fail_on}): "
                              + listing(sorted(failed_queries)))


if __name__ == "__main__":
    rt.run(main, task="looker-refresh", step="refresh", params=PARAMS,
           description="Trigger datagroups, rebuild PDTs and warm dashboards in Looker.")
