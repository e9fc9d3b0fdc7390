"""Everything one fake Looker instance holds, with a small builder API to seed it.

    state = LookerState()
    q = state.add_query("ecommerce", "orders", fields=["orders.count"], runtime=0.05)
    state.add_dashboard("7", "Sales", elements=[state.element("Orders", query_id=q.id)])

The same content can come from a JSON scenario file (see `load_scenario`).
"""
from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

from .lifecycle import PdtBuild, QueryRunner
from .model import (Dashboard, DashboardElement, DashboardFilter, Datagroup, Look, PdtView, Project, Query,
                    ScheduledPlan, User)


class ScenarioError(ValueError):
    """A scenario file or builder call is inconsistent (unknown id, missing field...)."""


class LookerState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.queries: dict[str, Query] = {}
        self.looks: dict[str, Look] = {}
        self.dashboards: dict[str, Dashboard] = {}
        self.datagroups: dict[str, Datagroup] = {}
        self.pdt_views: dict[tuple[str, str], PdtView] = {}
        self.pdt_builds: dict[str, PdtBuild] = {}
        self.scheduled_plans: dict[str, ScheduledPlan] = {}
        self.plan_runs: list[str] = []
        self.projects: dict[str, Project] = {}
        self.content_errors: list[dict[str, Any]] = []
        self.runner = QueryRunner()
        self._ids = itertools.count(1000)

    def next_id(self) -> str:
        return str(next(self._ids))

    # --- builder -------------------------------------------------------------------------
    def add_user(self, client_id: str, client_secret: str, user_id: str | None = None) -> User:
        user = User(user_id or self.next_id(), client_id, client_secret)
        self.users[client_id] = user
        return user

    def add_query(self, model: str, view: str, *, query_id: str | None = None, fields: list[str] | None = None,
                  filters: dict[str, str] | None = None, rows: list[dict[str, Any]] | None = None,
                  runtime: float = 0.05, error: str | None = None, limit: str | None = "500") -> Query:
        query = Query(query_id or self.next_id(), model, view, list(fields or []), dict(filters or {}),
                      limit=limit, rows=list(rows or []), runtime=runtime, error=error)
        self.queries[query.id] = query
        return query

    def add_look(self, look_id: str, title: str, query_id: str) -> Look:
        self._require(self.queries, query_id, f"look {look_id}: query_id")
        look = Look(look_id, title, query_id)
        self.looks[look_id] = look
        return look

    def element(self, title: str, *, query_id: str | None = None, look_id: str | None = None,
                listens: dict[str, str] | None = None, element_id: str | None = None) -> DashboardElement:
        if query_id:
            self._require(self.queries, query_id, f"element {title!r}: query_id")
        if look_id:
            self._require(self.looks, look_id, f"element {title!r}: look_id")
        return DashboardElement(element_id or self.next_id(), title, query_id, look_id, dict(listens or {}))

    def dashboard_filter(self, name: str, *, model: str, explore: str, dimension: str,
                         default_value: str | None = None, title: str | None = None,
                         filter_id: str | None = None) -> DashboardFilter:
        return DashboardFilter(filter_id or self.next_id(), name, title or name, default_value, model, explore, dimension)

    def add_dashboard(self, dashboard_id: str, title: str, elements: list[DashboardElement] | None = None,
                      filters: list[DashboardFilter] | None = None) -> Dashboard:
        names = {f.name for f in filters or []}
        for element in elements or []:
            unknown = set(element.listens) - names
            if unknown:
                raise ScenarioError(f"dashboard {dashboard_id}: element {element.title!r} listens to unknown filters {sorted(unknown)}")
        dashboard = Dashboard(dashboard_id, title, list(elements or []), list(filters or []))
        self.dashboards[dashboard_id] = dashboard
        return dashboard

    def add_datagroup(self, model_name: str, name: str, *, datagroup_id: str | None = None,
                      created_at: int = 1_700_000_000) -> Datagroup:
        group = Datagroup(datagroup_id or self.next_id(), model_name, name, created_at=created_at,
                          trigger_check_at=created_at, trigger_value=str(created_at))
        self.datagroups[group.id] = group
        return group

    def add_pdt(self, model: str, view: str, *, runtime: float = 0.05, queued_for: float = 0.0,
                error: str | None = None, start_text: str = "null") -> PdtView:
        pdt = PdtView(model, view, runtime, queued_for, error, start_text)
        self.pdt_views[(model, view)] = pdt
        return pdt

    def add_scheduled_plan(self, plan_id: str, name: str, user_id: str, *, dashboard_id: str | None = None,
                           look_id: str | None = None, crontab: str | None = "0 6 * * *",
                           destinations: list[dict[str, Any]] | None = None) -> ScheduledPlan:
        if dashboard_id:
            self._require(self.dashboards, dashboard_id, f"scheduled plan {plan_id}: dashboard_id")
        if look_id:
            self._require(self.looks, look_id, f"scheduled plan {plan_id}: look_id")
        plan = ScheduledPlan(plan_id, name, user_id, crontab, dashboard_id, look_id,
                             destinations=list(destinations or [{"type": "email", "format": "csv", "address": "team@example.com"}]))
        self.scheduled_plans[plan_id] = plan
        return plan

    def add_project(self, project_id: str, errors: list[dict[str, Any]] | None = None) -> Project:
        project = Project(project_id, list(errors or []))
        self.projects[project_id] = project
        return project

    def add_content_error(self, kind: str, item_id: str, title: str, message: str, *,
                          model_name: str | None = None, explore_name: str | None = None,
                          field_name: str | None = None) -> dict[str, Any]:
        """One ContentValidatorError; `kind` is "look" or "dashboard"."""
        if kind not in ("look", "dashboard"):
            raise ScenarioError(f"content error {item_id}: kind {kind!r} must be 'look' or 'dashboard'")
        entry = {
            "id": f"{kind}-{item_id}",
            kind: {"id": item_id, "title": title},
            "errors": [{"message": message, "field_name": field_name, "model_name": model_name,
                        "explore_name": explore_name, "removable": field_name is not None}],
        }
        self.content_errors.append(entry)
        return entry

    @staticmethod
    def _require(table: dict[str, Any], key: str, where: str) -> None:
        if key not in table:
            raise ScenarioError(f"{where} {key!r} is not defined (known: {sorted(table)})")


def default_state() -> LookerState:
    """A small instance with one of everything the Looker tasks touch."""
    state = LookerState()
    state.add_user("fake-client-id", "fake-client-secret", user_id="1")
    orders = state.add_query("ecommerce", "orders", query_id="101", fields=["orders.created_date", "orders.count"],
                             filters={"orders.created_date": "7 days"},
                             rows=[{"orders.created_date": "2026-11-20", "orders.count": 42}])
    users = state.add_query("ecommerce", "users", query_id="102", fields=["users.state", "users.count"],
                            rows=[{"users.state": "CA", "users.count": 7}])
    state.add_look("55", "Users by state", users.id)
    date = state.dashboard_filter("Date", model="ecommerce", explore="orders", dimension="orders.created_date",
                                  default_value="7 days", filter_id="301")
    state_filter = state.dashboard_filter("State", model="ecommerce", explore="users", dimension="users.state",
                                          default_value=None, filter_id="302")
    state.add_dashboard("7", "Sales overview", filters=[date, state_filter], elements=[
        state.element("Orders per day", query_id=orders.id, listens={"Date": "orders.created_date"}, element_id="201"),
        state.element("Users by state", look_id="55", element_id="202"),
        state.element("Read me", element_id="203"),
    ])
    state.add_datagroup("ecommerce", "orders_datagroup", datagroup_id="11")
    state.add_datagroup("ecommerce", "users_datagroup", datagroup_id="12")
    state.add_pdt("ecommerce", "orders_rollup")
    state.add_pdt("ecommerce", "broken_rollup", error="SQL Error: relation \"raw.orders\" does not exist")
    state.add_scheduled_plan("31", "Daily sales", "1", dashboard_id="7")
    # bound to a datagroup, not a crontab: what looker-run-schedule's `datagroup` param runs
    state.add_scheduled_plan("32", "Users export", "1", look_id="55", crontab=None).datagroup = "orders_datagroup"
    state.add_project("ecommerce")
    state.add_project("broken_project", errors=[{
        "code": "unknown_field", "severity": "error", "kind": "reference",
        "message": "Unknown field \"orders.total\"", "field_name": "orders.total",
        "file_path": "broken_project/orders.view.lkml", "line_number": 12, "model_id": "ecommerce",
        "explore": "orders", "help_url": None, "params": {}, "sanitized_message": "Unknown field",
    }])
    state.add_content_error("look", "56", "Old revenue", "Unknown field \"orders.revenue\"",
                            model_name="ecommerce", explore_name="orders", field_name="orders.revenue")
    return state


def load_scenario(path: Path) -> LookerState:
    """Build a state from a JSON scenario file; errors name the file and the entry."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    try:
        return state_from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise ScenarioError(f"{path}: malformed entry ({type(exc).__name__}: {exc})") from None


def state_from_dict(data: dict[str, Any]) -> LookerState:
    state = LookerState()
    for user in data.get("users", []):
        state.add_user(user["client_id"], user["client_secret"], user.get("id"))
    for q in data.get("queries", []):
        state.add_query(q["model"], q["view"], query_id=str(q["id"]), fields=q.get("fields"), filters=q.get("filters"),
                        rows=q.get("rows"), runtime=float(q.get("runtime", 0.05)), error=q.get("error"))
    for look in data.get("looks", []):
        state.add_look(str(look["id"]), look["title"], str(look["query_id"]))
    for d in data.get("dashboards", []):
        filters = [state.dashboard_filter(f["name"], model=f["model"], explore=f["explore"], dimension=f["dimension"],
                                          default_value=f.get("default_value"), filter_id=f.get("id"))
                   for f in d.get("filters", [])]
        elements = [state.element(e["title"], query_id=e.get("query_id"), look_id=e.get("look_id"),
                                  listens=e.get("listens"), element_id=e.get("id"))
                    for e in d.get("elements", [])]
        state.add_dashboard(str(d["id"]), d["title"], elements, filters)
    for g in data.get("datagroups", []):
        state.add_datagroup(g["model_name"], g["name"], datagroup_id=g.get("id"))
    for p in data.get("pdts", []):
        state.add_pdt(p["model"], p["view"], runtime=float(p.get("runtime", 0.05)),
                      queued_for=float(p.get("queued_for", 0.0)), error=p.get("error"),
                      start_text=p.get("start_text", "null"))
    for plan in data.get("scheduled_plans", []):
        state.add_scheduled_plan(str(plan["id"]), plan["name"], str(plan["user_id"]), dashboard_id=plan.get("dashboard_id"),
                                 look_id=plan.get("look_id"), crontab=plan.get("crontab"), destinations=plan.get("destinations"))
    for project in data.get("projects", []):
        state.add_project(project["id"], project.get("errors"))
    for err in data.get("content_errors", []):
        state.add_content_error(err["kind"], str(err["id"]), err["title"], err["message"], model_name=err.get("model_name"),
                                explore_name=err.get("explore_name"), field_name=err.get("field_name"))
    if not state.users:
        raise ScenarioError("scenario defines no users: add at least one {client_id, client_secret}")
    return state
