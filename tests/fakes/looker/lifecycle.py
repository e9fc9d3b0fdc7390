"""Asynchronous work whose state moves with time: query tasks and PDT builds.

Nothing runs in the background. Each read calls `advance(now)`, which replays what would have
happened since the last read, so states are a pure function of the (injectable) clock.

Per-user query concurrency follows Looker's documented throttle: each user runs at most 15
queries at once; further queries wait in Looker's queue until a running one finishes, and a
query that waits more than 600 seconds is dropped from the queue (Looker help center,
"Query Timeouts and Queueing"; Looker community, "Per-User Query Throttle (3.38+)"). It is
queueing, not a 429: the extra query tasks stay in status "added".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PER_USER_QUERY_LIMIT = 15
PER_USER_QUEUE_TIMEOUT = 600.0
QUEUE_TIMEOUT_MESSAGE = "Query was dropped from the per-user queue after waiting {seconds:g} seconds"

# Query task states (the API's QueryTask.status and query_task_multi_results' status).
ADDED, RUNNING, COMPLETE, ERROR, EXPIRED = "added", "running", "complete", "error", "expired"
# PDT materialization states, as the text in MaterializePDT.resp_text reports them.
PDT_ADDED, PDT_RUNNING, PDT_COMPLETE, PDT_ERROR, PDT_KILLED = "added", "running", "complete", "error", "killed"


@dataclass
class QueryTask:
    id: str
    query_id: str
    user_id: str
    result_format: str
    created_at: float
    runtime: float
    error: str | None
    rows: list[dict[str, Any]]
    source: str | None = None
    look_id: str | None = None
    dashboard_id: str | None = None
    status: str = ADDED
    started_at: float | None = None
    finished_at: float | None = None
    failure: str | None = None

    @property
    def done(self) -> bool:
        return self.status in (COMPLETE, ERROR, EXPIRED)


@dataclass
class QueryRunner:
    """Every query task of the instance, with the per-user throttle and result expiry."""

    limit_per_user: int = PER_USER_QUERY_LIMIT
    queue_timeout: float = PER_USER_QUEUE_TIMEOUT
    result_ttl: float = 3600.0
    tasks: dict[str, QueryTask] = field(default_factory=dict)
    # user id -> the most query tasks that user had queued or running at once (a client's concurrency)
    peak_in_flight: dict[str, int] = field(default_factory=dict)

    def add(self, task: QueryTask, now: float) -> None:
        self.advance(now)
        self.tasks[task.id] = task
        self.advance(now)
        in_flight = sum(1 for t in self.tasks.values() if t.user_id == task.user_id and not t.done)
        self.peak_in_flight[task.user_id] = max(self.peak_in_flight.get(task.user_id, 0), in_flight)

    def running_count(self, user_id: str, now: float) -> int:
        self.advance(now)
        return sum(1 for t in self.tasks.values() if t.user_id == user_id and t.status == RUNNING)

    def advance(self, now: float) -> None:
        for user_id in sorted({t.user_id for t in self.tasks.values()}):
            self._advance_user([t for t in self.tasks.values() if t.user_id == user_id], now)
        for task in self.tasks.values():
            if task.status == COMPLETE and task.finished_at is not None and now >= task.finished_at + self.result_ttl:
                task.status = EXPIRED

    def _advance_user(self, tasks: list[QueryTask], now: float) -> None:
        # Tasks are admitted in creation order; a slot frees when a running task finishes.
        slot_freed_at = float("-inf")
        while True:
            running = [t for t in tasks if t.status == RUNNING]
            waiting = [t for t in tasks if t.status == ADDED and t.created_at <= now]
            while len(running) < self.limit_per_user and waiting:
                task = waiting.pop(0)
                start = max(task.created_at, slot_freed_at)
                if start - task.created_at > self.queue_timeout:
                    self._finish(task, task.created_at + self.queue_timeout,
                                 QUEUE_TIMEOUT_MESSAGE.format(seconds=self.queue_timeout))
                    continue
                task.status, task.started_at = RUNNING, start
                running.append(task)
            if not running:
                break
            first = min(running, key=lambda t: (t.started_at or 0.0) + t.runtime)
            ends_at = (first.started_at or 0.0) + first.runtime
            if ends_at > now:
                break
            self._finish(first, ends_at, first.error)
            slot_freed_at = ends_at
        for task in tasks:
            if task.status == ADDED and now - task.created_at > self.queue_timeout:
                self._finish(task, task.created_at + self.queue_timeout,
                             QUEUE_TIMEOUT_MESSAGE.format(seconds=self.queue_timeout))

    @staticmethod
    def _finish(task: QueryTask, at: float, failure: str | None) -> None:
        task.finished_at = at
        task.failure = failure
        task.status = ERROR if failure else COMPLETE


@dataclass
class PdtBuild:
    """One materialization started by start_pdt_build."""

    id: str
    model: str
    view: str
    started_at: float
    queued_for: float
    runtime: float
    error: str | None
    options: dict[str, str]
    stopped_at: float | None = None

    def status(self, now: float) -> str:
        running_from = self.started_at + self.queued_for
        ends_at = running_from + self.runtime
        if self.stopped_at is not None and self.stopped_at < ends_at:
            return PDT_KILLED
        if now < running_from:
            return PDT_ADDED
        if now < ends_at:
            return PDT_RUNNING
        return PDT_ERROR if self.error else PDT_COMPLETE

    def resp_text(self, now: float) -> str:
        """The JSON text Looker puts in MaterializePDT.resp_text.

        Its shape ({status, runtime, message, task_slug}) follows what Looker returns, as shown
        by the sample response kept in Apache Airflow's Looker hook, whose poller treats
        added/pending/running as in progress and complete/error/killed/unknown as final.
        """
        status = self.status(now)
        runtime = round(self.runtime, 3) if status in (PDT_COMPLETE, PDT_ERROR) else None
        message = f"Materialize {self.view}, "
        if status == PDT_ERROR:
            message = f"{message}{self.error}"
        elif status == PDT_KILLED:
            message = f"{message}stopped by request"
        return json.dumps({"status": status, "runtime": runtime, "message": message,
                           "task_slug": f"{int(self.id):032x}"}, separators=(",", ":"))
