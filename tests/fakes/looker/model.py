"""The content a fake Looker instance holds, and how each object looks on the wire.

Each dataclass is one Looker object with just the fields the Interlock tasks read; `to_api()`
renders it with the field names of the API 4.0 schema (checked by tests against the OpenAPI
document). Ids are strings of digits, as Looker sends them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Operations a caller may perform; Looker sends this map on most objects.
CAN_VIEW = {"show": True, "index": True}


@dataclass
class User:
    id: str
    client_id: str
    client_secret: str
    display_name: str = "API user"


@dataclass
class Query:
    """A saved query; `rows`, `runtime` and `error` say how its query tasks behave."""

    id: str
    model: str
    view: str
    fields: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    sorts: list[str] = field(default_factory=list)
    limit: str | None = "500"
    rows: list[dict[str, Any]] = field(default_factory=list)
    runtime: float = 0.05
    error: str | None = None

    def identity(self) -> tuple[Any, ...]:
        # Looker returns the existing query when an identical one is created again.
        return (self.model, self.view, tuple(self.fields), tuple(sorted(self.filters.items())),
                tuple(self.sorts), self.limit)

    def to_api(self) -> dict[str, Any]:
        return {
            "can": {"run": True, **CAN_VIEW},
            "id": self.id,
            "model": self.model,
            "view": self.view,
            "fields": list(self.fields),
            "filters": dict(self.filters),
            "sorts": list(self.sorts),
            "limit": self.limit,
            "slug": f"q{self.id}",
            "client_id": f"fake{self.id:0>18}",
            "has_table_calculations": False,
        }


@dataclass
class Look:
    id: str
    title: str
    query_id: str
    folder_id: str = "1"

    def to_api(self, query: Query) -> dict[str, Any]:
        return {
            "can": dict(CAN_VIEW),
            "id": self.id,
            "title": self.title,
            "query_id": self.query_id,
            "query": query.to_api(),
            "folder_id": self.folder_id,
            "deleted": False,
            "public": False,
            "is_run_on_load": False,
            "model": {"id": query.model, "label": query.model},
        }


@dataclass
class DashboardFilter:
    id: str
    name: str
    title: str
    default_value: str | None
    model: str
    explore: str
    dimension: str
    type: str = "field_filter"
    required: bool = False
    allow_multiple_values: bool = True

    def to_api(self, dashboard_id: str) -> dict[str, Any]:
        return {
            "can": dict(CAN_VIEW),
            "id": self.id,
            "dashboard_id": dashboard_id,
            "name": self.name,
            "title": self.title,
            "type": self.type,
            "default_value": self.default_value,
            "model": self.model,
            "explore": self.explore,
            "dimension": self.dimension,
            "row": 0,
            "listens_to_filters": [],
            "allow_multiple_values": self.allow_multiple_values,
            "required": self.required,
            "ui_config": {"type": "advanced", "display": "popover"},
        }


@dataclass
class DashboardElement:
    """A tile: a query tile (query_id), a look tile (look_id) or a text tile (neither).

    `listens` maps a dashboard filter name to the field it filters on this tile.
    """

    id: str
    title: str
    query_id: str | None = None
    look_id: str | None = None
    listens: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return "vis" if (self.query_id or self.look_id) else "text"

    def to_api(self, dashboard_id: str, queries: dict[str, Query], looks: dict[str, Look]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "can": dict(CAN_VIEW),
            "id": self.id,
            "dashboard_id": dashboard_id,
            "title": self.title,
            "title_hidden": False,
            "type": self.type,
            "look_id": self.look_id,
            "query_id": self.query_id,
            "result_maker_id": None,
            "body_text": None if self.type == "vis" else self.title,
        }
        if self.query_id:
            query = queries[self.query_id]
            body["query"] = query.to_api()
            body["result_maker_id"] = f"rm{self.id}"
            body["result_maker"] = {
                "id": f"rm{self.id}",
                "query_id": query.id,
                "query": query.to_api(),
                "sorts": list(query.sorts),
                "total": False,
                "filterables": [{
                    "model": query.model,
                    "view": query.view,
                    "name": self.title,
                    "listen": [{"dashboard_filter_name": name, "field": fld} for name, fld in self.listens.items()],
                }],
                "vis_config": {"type": "looker_grid"},
            }
        if self.look_id:
            look = looks[self.look_id]
            body["look"] = look.to_api(queries[look.query_id])
        return body


@dataclass
class Dashboard:
    id: str
    title: str
    elements: list[DashboardElement] = field(default_factory=list)
    filters: list[DashboardFilter] = field(default_factory=list)
    folder_id: str = "1"

    def to_api(self, queries: dict[str, Query], looks: dict[str, Look]) -> dict[str, Any]:
        return {
            "can": dict(CAN_VIEW),
            "id": self.id,
            "title": self.title,
            "folder_id": self.folder_id,
            "hidden": False,
            "readonly": False,
            "deleted": False,
            "crossfilter_enabled": False,
            "dashboard_elements": [e.to_api(self.id, queries, looks) for e in self.elements],
            "dashboard_filters": [f.to_api(self.id) for f in self.filters],
        }


@dataclass
class Datagroup:
    id: str
    model_name: str
    name: str
    stale_before: int | None = None
    triggered_at: int | None = None
    trigger_check_at: int | None = None
    trigger_value: str | None = None
    created_at: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "can": {"show": True, "update": True},
            "id": self.id,
            "model_name": self.model_name,
            "name": self.name,
            "created_at": self.created_at,
            "stale_before": self.stale_before,
            "triggered_at": self.triggered_at,
            "trigger_check_at": self.trigger_check_at,
            "trigger_value": self.trigger_value,
            "trigger_error": None,
        }


@dataclass
class PdtView:
    """A persistent derived table that `start_pdt_build` can materialize.

    `start_text` is what the start answer's `resp_text` holds: "null" (as an early Apache Airflow
    stub of the answer shows), "absent" (no key), "empty" ("") or "status" (the check answer's
    JSON). Public clients read only `materialization_id` from it."""

    model: str
    view: str
    runtime: float = 0.05
    queued_for: float = 0.0
    error: str | None = None
    start_text: str = "null"


@dataclass
class ScheduledPlan:
    id: str
    name: str
    user_id: str
    crontab: str | None = "0 6 * * *"
    dashboard_id: str | None = None
    look_id: str | None = None
    enabled: bool = True
    run_once: bool = False
    destinations: list[dict[str, Any]] = field(default_factory=list)
    datagroup: str | None = None  # runs when this datagroup triggers (instead of a crontab)
    created_at: str = "2026-01-05T09:30:00.000+00:00"  # RFC 3339, as Looker sends date-time fields

    def to_api(self, user: User | None) -> dict[str, Any]:
        return {
            "can": {"show": True, "update": True, "destroy": True},
            "id": self.id,
            "name": self.name,
            "title": self.name,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "user_id": self.user_id,
            "user": None if user is None else {"id": user.id, "first_name": "API", "last_name": "User",
                                                "display_name": user.display_name, "avatar_url": ""},
            "crontab": self.crontab,
            "datagroup": self.datagroup,
            "dashboard_id": self.dashboard_id,
            "look_id": self.look_id,
            "enabled": self.enabled,
            "run_once": self.run_once,
            "require_results": False,
            "require_no_results": False,
            "require_change": False,
            "send_all_results": False,
            "run_as_recipient": False,
            "include_links": True,
            "timezone": "UTC",
            "scheduled_plan_destination": [
                {"id": f"{self.id}{i}", "scheduled_plan_id": self.id, "format": d.get("format", "csv"),
                 "type": d.get("type", "email"), "address": d.get("address"), "apply_formatting": True,
                 "apply_vis": False, "looker_recipient": False}
                for i, d in enumerate(self.destinations)
            ],
        }


@dataclass
class Project:
    """A LookML project; `errors` are ProjectError objects that validate_project reports."""

    id: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    models_not_validated: list[dict[str, Any]] = field(default_factory=list)
    cached: dict[str, Any] | None = None
