"""Datagroups: pick them by id or `model::name`, then trigger or reset them.

Looker's `update_datagroup` sets `triggered_at` (treat the datagroup as triggered now:
caches and PDTs built on it are rebuilt) or `stale_before` (cache entries older than
this are stale); neither may be in the future (API 4.0 Datagroup schema). Setting them to
"now" again on a re-run is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interlock_steps.runtime import BadInput

from .client import LookerClient

ACTIONS = {"trigger": "triggered_at", "reset": "stale_before"}


@dataclass(frozen=True)
class Datagroup:
    id: str
    model: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.model}::{self.name} (id {self.id})"


def resolve(client: LookerClient, selectors: list[str]) -> list[Datagroup]:
    """The datagroups the selectors name, in order, once each; BadInput naming every unknown one."""
    if not selectors:
        return []
    known = [Datagroup(str(g.id), g.model_name or "", g.name or "")
             for g in client.call("list datagroups", client.sdk.all_datagroups)]
    by_id = {g.id: g for g in known}
    by_name = {f"{g.model}::{g.name}": g for g in known}
    chosen, unknown = [], []
    for selector in selectors:
        group = by_name.get(selector) if "::" in selector else by_id.get(selector)
        if group is None:
            unknown.append(selector)
        elif group not in chosen:
            chosen.append(group)
    if unknown:
        raise BadInput(f"param 'datagroups': unknown datagroup(s) {', '.join(unknown)}; "
                       f"known: {', '.join(sorted(by_name)) or 'none'}", param="datagroups")
    return chosen


def update(client: LookerClient, group: Datagroup, action: str, now: int) -> dict[str, Any]:
    from looker_sdk.sdk.api40.models import WriteDatagroup

    field = ACTIONS[action]
    client.call(f"{action} datagroup {group.label}", client.sdk.update_datagroup,
                group.id, WriteDatagroup(**{field: now}))
    return {"id": group.id, "model": group.model, "name": group.name, "action": action, field: now}
