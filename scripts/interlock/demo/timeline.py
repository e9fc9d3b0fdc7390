"""The demo's ending: a timeline of the pipeline's tasks, when each ran and what it decided or
changed (from the PipelineRun's outcome), then each system compared with how it began."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from interlock.demo.live import LiveView, Style, split, system_of


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def what_happened(task: str, r: dict[str, str], changes: list[dict[str, Any]]) -> str:
    """One line from a TaskRun's results and its audit lines: what the Task decided or changed."""
    if task == "vertex-train":
        return f"training job {r.get('state', 'did not finish')}"
    if task == "vertex-deploy":
        version = r.get("model-version-id", "?")
        for change in reversed(changes):
            if change["action"] == "deploy model":
                return f"model version {version} uploaded, deployed with {change['traffic'].get('0')} % of the traffic"
            if change["action"] == "update endpoint traffic":
                return f"model version {version} now serves {max(change['traffic'].values())} % of the traffic"
        return f"model version {version} already in place"
    if task == "vertex-verify":
        verdict = "passed" if r.get("passed") == "true" else f"failed, {r.get('mismatches')} wrong prediction(s)"
        undone = {"undeployed": "; the new version taken off", "traffic": "; traffic restored"}.get(r.get("rolled-back", ""), "")
        return f"{verdict} (p95 {r.get('p95-ms') or '-'} ms){undone}"
    if task == "istio-canary-shift":
        decision = r.get("decision", "stopped").replace("rolled-back", "rolled back")
        return f"{decision} after {r.get('steps-completed', '0')} step(s) passed: {split(r.get('final-weights', ''))}"
    if task == "looker-validate":
        return f"{r.get('lookml-errors')} LookML and {r.get('content-errors')} content error(s)"
    if task == "looker-refresh":
        return (f"{r.get('datagroups-updated')} datagroup, {r.get('pdts-built')} PDT, {r.get('queries-run')} queries "
                f"warmed ({r.get('queries-failed')} failed)")
    if task == "looker-run-schedule":
        return f"delivered plan(s) {', '.join(json.loads(r.get('plans', '[]')))}"
    if task == "istio-rollback":
        return (f"weights restored: {split(r.get('restored-weights', ''))}" if r.get("changed") == "true"
                else "weights already as recorded")
    if task == "vertex-rollback":
        return {"undeployed": "new version taken off", "traffic": "traffic split restored",
                "none": "nothing left to undo"}.get(r.get("rolled-back", ""), "?") + \
            f" (traffic {split(r.get('restored-traffic', ''))})"
    return ""


def _why(task: str, name: str, view: LiveView) -> str:
    """Why a task failed, in its own words: the first error it found (a validation gate), or its
    error line without the decision the results already show."""
    if task == "looker-validate" and view.warnings.get(name):
        return view.warnings[name][0]
    error = view.errors.get(name, "see its log above")
    return error.split(": ", 1)[-1] if task == "istio-canary-shift" else error


SKIPPED = {"When Expressions evaluated to false": "not needed",
           "Results were missing": "nothing to undo (what it would restore was never recorded)",
           "PipelineRun was stopping": "not run (a task failed before it)"}


def render(outcome: dict[str, Any], order: list[str], view: LiveView, audit: list[dict[str, Any]]) -> list[str]:
    """The timeline, one line per pipeline task in the pipeline's order; `audit` (the audit
    trail's lines) tells what each changed, `view` what a failed one said."""
    style = view.style
    t0 = _time(outcome["startTime"])
    ran = {t["pipelineTask"]: t for t in outcome.get("tasks", [])}
    skipped = {s["name"]: s["reason"] for s in outcome.get("skippedTasks", [])}
    lines = [style.bold(f"  {'task':<17} {'system':<10} {'at':>6} {'took':>6}  what happened")]
    for name in order:
        if name in ran:
            t = ran[name]
            ok = t["condition"]["status"] == "True"
            mark = style.green("✓") if ok else style.red("✗")
            window = (_time(t["startTime"]), _time(t["completionTime"]))
            changes = [a for a in audit if a["task"] == t["task"] and window[0] <= _time(a["ts"]) <= window[1]]
            what = what_happened(t["task"], t.get("results") or {}, changes)
            if not ok:
                what = f"{what} — {_why(t['task'], name, view)}"
            at = (_time(t["startTime"]) - t0).total_seconds()
            lines.append(f"{mark} {name:<17} {system_of(t['task']):<10} {at:>5.1f}s {t['duration']:>5.1f}s  {what}")
        elif name in skipped:
            why = SKIPPED.get(skipped[name], skipped[name])
            lines.append(style.dim(f"– {name:<17} {'':<10} {'':>6} {'':>6}  skipped: {why}"))
    return lines


def _serving(vertex: dict[str, Any]) -> str:
    parts = []
    for endpoint in vertex["endpoints"].values():
        shares = [f"version {endpoint['deployed'][d].rsplit('@', 1)[1]} at {pct} %" for d, pct in endpoint["traffic"].items()]
        parts.append(", ".join(shares) or "no traffic")
    return "; ".join(parts)


def _weights(spec: dict[str, Any]) -> str:
    route = next(r for r in spec["http"] if len(r.get("route", [])) == 2)
    return ", ".join(f"{d['destination'].get('subset')}={d.get('weight')}" for d in route["route"])


def _looker(start: dict[str, Any], end: dict[str, Any]) -> str:
    triggered = sum(end["datagroups"][g] != start["datagroups"][g] for g in end["datagroups"])
    return (f"{triggered} datagroup triggered, {end['pdt-builds'] - start['pdt-builds']} PDT rebuilt, "
            f"{end['query-tasks'] - start['query-tasks']} queries run, plan(s) {', '.join(end['plan-runs']) or 'none'} "
            "delivered")


def compare(start: dict[str, Any], end: dict[str, Any], style: Style) -> list[str]:
    """Each system now, against how it began (what World.snapshot records)."""
    now = {"Vertex AI": ("vertex", lambda: f"the endpoint serves {_serving(end['vertex'])}"),
           "Istio": ("istio", lambda: f"shop/reviews routes {_weights(end['istio'])}"),
           "Looker": ("looker", lambda: _looker(start["looker"], end["looker"]))}
    lines = []
    for name, (key, describe) in now.items():
        if start[key] == end[key]:
            lines.append(f"  {name:<10} {style.green('as it began')}")
        else:
            lines.append(f"  {name:<10} {style.yellow('changed:')} {describe()}")
    return lines
