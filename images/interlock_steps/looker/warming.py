"""Dashboard warming: run every tile's query, with the dashboard's default filters applied,
so the cache Looker fills is the one people hit when they open the dashboard.

A tile's query comes from the element itself, its look, or its result maker (API 4.0
DashboardElement). A tile listens to dashboard filters through
`result_maker.filterables[].listen[]` ({dashboard_filter_name, field}); with defaults
applied the query differs, so an equivalent query is created (`create_query`; Looker
returns the existing one when it is identical) and that one is run.

Queries run as asynchronous query tasks (`create_query_task`, then
`query_task_multi_results` for all in flight), at most `concurrency` at once: Looker runs
at most 15 queries per user at a time and queues or refuses the rest (Looker docs,
"Query concurrency"), so the step never asks for more.
"""
from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from interlock_steps.runtime import BadInput, Deadline

from .client import LookerClient, LookerError

LOOKER_MAX_CONCURRENT_QUERIES = 15
DONE_OK = "complete"
DONE_FAILED = {"error", "expired", "killed", "missing"}


@dataclass
class Tile:
    dashboard_id: str
    element_id: str
    title: str
    query_id: str
    filters: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    tile: Tile
    status: str = "pending"
    message: str = ""
    seconds: float = 0.0
    task_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == DONE_OK

    def report(self) -> dict[str, Any]:
        return {"dashboard": self.tile.dashboard_id, "element": self.tile.element_id, "title": self.tile.title,
                "query_id": self.tile.query_id, "filters": self.tile.filters, "status": self.status,
                "message": self.message, "seconds": round(self.seconds, 3)}


def _query_of(element: Any) -> tuple[Any, str | None, Any]:
    """(query, query_id, result_maker) for an element, from wherever it keeps them."""
    maker = element.result_maker
    for query, query_id in ((element.query, element.query_id),
                            (element.look.query if element.look else None, element.look.query_id if element.look else None),
                            (maker.query if maker else None, maker.query_id if maker else None)):
        if query is not None or query_id:
            return query, query_id or (query.id if query is not None else None), maker
    return None, None, maker


def _defaults(dashboard: Any) -> dict[str, str]:
    return {f.name: f.default_value for f in dashboard.dashboard_filters or [] if f.name and f.default_value}


def dashboard_tiles(client: LookerClient, dashboard_id: str, *, skipped: list[dict] | None = None) -> list[Tile]:
    """Every query tile of a dashboard, with its default filters applied (may create queries)."""
    from looker_sdk.sdk.api40.models import WriteQuery

    # Only what warming needs: decoding whole dashboards costs looker-sdk seconds for big ones.
    dashboard = client.call(f"dashboard {dashboard_id}", client.sdk.dashboard, dashboard_id,
                            fields="id,dashboard_filters,dashboard_elements")
    defaults = _defaults(dashboard)
    tiles = []
    for element in dashboard.dashboard_elements or []:
        query, query_id, maker = _query_of(element)
        if not query_id:
            if skipped is not None:
                skipped.append({"dashboard": dashboard_id, "element": element.id, "reason": "no query (text tile)"})
            continue
        applied = {}
        for filterable in (maker.filterables or []) if maker else []:
            for listen in filterable.listen or []:
                value = defaults.get(listen.dashboard_filter_name or "")
                if value and listen.field:
                    applied[listen.field] = value
        if applied:
            if query is None:
                query = client.call(f"query {query_id}", client.sdk.query, query_id)
            merged = {**(query.filters or {}), **applied}
            body = WriteQuery(model=query.model, view=query.view, fields=query.fields, pivots=query.pivots,
                              fill_fields=query.fill_fields, filters=merged, filter_expression=query.filter_expression,
                              sorts=query.sorts, limit=query.limit, column_limit=query.column_limit,
                              total=query.total, row_total=query.row_total, subtotals=query.subtotals,
                              dynamic_fields=query.dynamic_fields)
            created = client.call(f"dashboard {dashboard_id} tile {element.id}: create filtered query",
                                  client.sdk.create_query, body)
            query_id = str(created.id)
        tiles.append(Tile(dashboard_id, str(element.id), element.title or "", str(query_id), applied))
    return tiles


_CONCURRENCY = (f"a whole number from 1 to {LOOKER_MAX_CONCURRENT_QUERIES} "
                f"(Looker runs at most {LOOKER_MAX_CONCURRENT_QUERIES} queries per user)")


def concurrency(text: str) -> int:
    """Param parser for `concurrency`."""
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= LOOKER_MAX_CONCURRENT_QUERIES:
        raise ValueError(f"expected {_CONCURRENCY}")
    return int(value)


def check_concurrency(value: int) -> int:
    if not 1 <= value <= LOOKER_MAX_CONCURRENT_QUERIES:
        raise BadInput(f"param 'concurrency' must be {_CONCURRENCY}, got {value}", param="concurrency")
    return value


def _start_task(client: LookerClient, query_id: str) -> str | LookerError:
    """Create a query task; its id, or the LookerError (one failed query never stops the rest).

    Body and answer are plain JSON (the WriteCreateQueryTask and QueryTask fields): looker-sdk's
    converter generates fresh code for every model it encodes or decodes (about 18 ms of CPU
    per QueryTask, measured here), which would serialise hundreds of creates.
    """
    body = {"query_id": query_id, "result_format": "json", "source": "interlock"}
    try:
        raw = client.call(f"query {query_id}: create query task", client.sdk.post, "/query_tasks", str,
                          query_params={"fields": "id"}, body=body)
        return str(json.loads(raw)["id"])
    except LookerError as error:
        return error


def warm(client: LookerClient, tiles: list[Tile], *, concurrency: int, query_timeout: float, deadline: Deadline,
         log: Callable[..., None] = lambda *a, **k: None, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic, poll_min: float = 0.005, poll_max: float = 1.0) -> list[Outcome]:
    """Run each distinct query once, `concurrency` at a time; every tile gets an Outcome.

    Free slots are filled in parallel (one thread per slot), and one
    `query_task_multi_results` call polls every task in flight.
    """
    from looker_sdk.sdk.api40.models import DelimSequence

    check_concurrency(concurrency)
    outcomes = [Outcome(t) for t in tiles]
    by_query: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_query.setdefault(outcome.tile.query_id, []).append(outcome)
    waiting = list(by_query)
    running: dict[str, tuple[str, float]] = {}  # task id -> (query id, started)
    finished = 0
    wait = 4 * poll_min
    durations: list[float] = []  # of completed queries, to poll in step with how long they take

    def settle(query_id: str, status: str, message: str, seconds: float, task_id: str | None = None) -> None:
        nonlocal finished
        for o in by_query[query_id]:
            o.status, o.message, o.seconds, o.task_id = status, message, seconds, task_id
        finished += 1
        if status == DONE_OK:
            durations.append(seconds)
        log(f"query {status}", target=f"query {query_id}", seconds=round(seconds, 3),
            progress=f"{finished}/{len(by_query)}", **({"error": message} if message else {}))

    with ThreadPoolExecutor(concurrency, thread_name_prefix="warm") as pool:
        starting: dict[Future, str] = {}  # create calls under way -> query id
        while waiting or starting or running:
            deadline.check(f"warming queries ({finished}/{len(by_query)} done)")
            # Fill free slots without waiting for the creates: a slow one must not hold the rest.
            while waiting and len(running) + len(starting) < concurrency:
                query_id = waiting.pop(0)
                starting[pool.submit(_start_task, client, query_id)] = query_id
            sleep(wait)
            for future in [f for f in starting if f.done()]:
                query_id, task = starting.pop(future), future.result()
                if isinstance(task, LookerError):
                    settle(query_id, "error", task.message, 0.0)
                else:
                    running[task] = (query_id, clock())
            if not running:
                continue
            answers = client.call(f"{len(running)} query task(s): poll", client.sdk.query_task_multi_results,
                                  query_task_ids=DelimSequence(list(running)))
            progressed = False
            for task_id, (query_id, started) in list(running.items()):
                answer = answers.get(task_id) or {}
                status = str(answer.get("status") or "missing")
                elapsed = clock() - started
                if status == DONE_OK or status in DONE_FAILED:
                    del running[task_id]
                    settle(query_id, status, _errors(answer) if status != DONE_OK else "", elapsed, task_id)
                    progressed = True
                elif elapsed > query_timeout:
                    del running[task_id]
                    settle(query_id, "timeout", f"still {status} after {query_timeout:g}s", elapsed, task_id)
                    progressed = True
            # Poll about ten times per typical query (fast queries are seen soon, slow ones are not
            # polled needlessly); back off while every query keeps running.
            typical = statistics.median(durations[-50:]) if durations else wait
            wait = min(poll_max, max(poll_min, typical / 10)) if progressed else min(wait * 1.25, poll_max)
    return outcomes


def _errors(answer: dict) -> str:
    data = answer.get("data")
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:300]
    return f"query task {answer.get('status', 'missing')}"
