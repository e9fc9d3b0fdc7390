"""PDT rebuilds: start each build, poll until it ends, stop what is still running at the deadline.

`check_pdt_build` answers with free text in `resp_text` (API 4.0 MaterializePDT). Looker
sends a JSON object whose `status` is one of added/pending/running (in progress) or
complete/error/killed/unknown (final), as seen in public clients such as Apache Airflow's
Looker hook; anything else is refused with the text quoted, never guessed.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from interlock_steps.runtime import Deadline, TargetFailed

from .client import LookerClient, LookerError

IN_PROGRESS = {"added", "pending", "running"}
FINAL_OK = {"complete"}
FINAL_FAILED = {"error", "killed", "unknown"}
STOP_MARGIN = 5.0  # seconds kept before the deadline to stop unfinished builds cleanly


class UnreadableStatus(TargetFailed):
    pass


def parse_status(resp_text: str | None) -> tuple[str, str]:
    """(status, message) from resp_text; UnreadableStatus when it says nothing we know."""
    text = (resp_text or "").strip()
    status, message = None, text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        status = str(data.get("status") or "").strip().lower() or None
        message = str(data.get("message") or "")
    else:
        # Plain text: accept a lone known status word, e.g. "Status: running".
        words = set(re.findall(r"[a-z]+", text.lower())) & (IN_PROGRESS | FINAL_OK | FINAL_FAILED)
        status = words.pop() if len(words) == 1 else None
    if status not in IN_PROGRESS | FINAL_OK | FINAL_FAILED:
        raise UnreadableStatus(f"cannot understand the PDT build status Looker sent: {text[:200]!r}")
    return status, message


@dataclass
class Build:
    model: str
    view: str
    materialization_id: str | None = None
    status: str = "not started"
    message: str = ""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"pdt {self.model}::{self.view}"

    @property
    def ok(self) -> bool:
        return self.status in FINAL_OK

    def report(self) -> dict:
        return {"model": self.model, "view": self.view, "materialization_id": self.materialization_id,
                "status": self.status, "message": self.message, "seconds": round(self.seconds, 3)}


def rebuild(client: LookerClient, model: str, views: list[str], *, force_full_incremental: bool,
            deadline: Deadline, poll: float = 1.0, log: Callable[..., None] = lambda *a, **k: None,
            sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> list[Build]:
    """Start every view's build, then poll them together until each is final or the deadline nears."""
    builds = [Build(model, view) for view in views]
    started = clock()
    for build in builds:
        try:
            answer = client.call(build.target + ": start build", client.sdk.start_pdt_build, model, build.view,
                                 force_full_incremental="true" if force_full_incremental else None, source="interlock")
            build.materialization_id = str(answer.materialization_id)
            build.status, build.message = parse_status(answer.resp_text)
            log("pdt build started", target=build.target, materialization_id=build.materialization_id)
        except (LookerError, UnreadableStatus) as error:
            build.status, build.message = "error", error.message
    wait = min(poll, 0.05)
    while any(b.status in IN_PROGRESS for b in builds):
        if deadline.remaining() <= wait + STOP_MARGIN:
            for build in (b for b in builds if b.status in IN_PROGRESS):
                _stop(client, build, log)
            break
        sleep(wait)
        wait = min(wait * 2, poll)
        for build in (b for b in builds if b.status in IN_PROGRESS):
            try:
                answer = client.call(build.target + ": check build", client.sdk.check_pdt_build,
                                     build.materialization_id)
                build.status, build.message = parse_status(answer.resp_text)
            except (LookerError, UnreadableStatus) as error:
                build.status, build.message = "error", error.message
            if build.status not in IN_PROGRESS:
                build.seconds = clock() - started
                log(f"pdt build {build.status}", target=build.target, seconds=round(build.seconds, 3))
    return builds


def _stop(client: LookerClient, build: Build, log: Callable[..., None]) -> None:
    try:
        client.call(build.target + ": stop build", client.sdk.stop_pdt_build, build.materialization_id,
                    source="interlock")
        build.status, build.message = "killed", "stopped: the step's deadline was near"
    except LookerError as error:
        build.status, build.message = "error", f"could not stop at the deadline: {error.message}"
    log("pdt build stopped at the deadline", target=build.target)
