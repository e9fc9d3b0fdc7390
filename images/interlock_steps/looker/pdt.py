"""PDT rebuilds: check the views exist, start each build, poll until it ends, stop what is
still running at the deadline.

The views are resolved first, from the model's derived-table graph
(`graph_derived_tables_for_model`, a DependencyGraph whose `graph_text` is Graphviz DOT), so an
unknown view fails the step before anything changes.

`start_pdt_build` answers with a `materialization_id`; its `resp_text` is nothing to rely on
(public clients, Apache Airflow's Looker hook and dagster-looker, read only the id from it,
and an early Airflow stub shows it null), so a start answer with an id means "started".
`check_pdt_build` answers with free text in `resp_text` (API 4.0 MaterializePDT): a JSON
object whose `status` is one of added/pending/running (in progress) or
complete/error/killed/unknown (final), as Airflow's hook reads it (`pdt_build_status`);
anything else is refused with the text quoted, never guessed.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from interlock_steps.runtime import BadInput, Deadline, TargetFailed

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


_DOT_TOKEN = re.compile(r"""\s*(?:(?P<html><[^<>]*>)|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<op>->|--|[{};=\[\],])"""
                        r"""|(?P<id>[^\s{};=\[\],"<>-][^\s{};=\[\],"<>]*))""")
_DOT_KEYWORDS = {"strict", "graph", "digraph", "subgraph", "node", "edge"}


def dot_nodes(graph_text: str) -> set[str]:
    """The node names of a Graphviz DOT graph, e.g. `digraph m { subgraph { <a> -> <b> [style=dashed] } }`
    or `"m/a" -> "m/b"` (a `model/` prefix is dropped); graph names and attributes are not nodes."""
    nodes: set[str] = set()
    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _DOT_TOKEN.finditer(graph_text or "") if m.lastgroup]
    depth = 0  # inside [attribute lists]
    for i, (kind, text) in enumerate(tokens):
        if kind == "op":
            depth += {"[": 1, "]": -1}.get(text, 0)
            continue
        before = tokens[i - 1] if i else ("op", ";")
        after = tokens[i + 1] if i + 1 < len(tokens) else ("op", ";")
        name = text[1:-1] if kind in ("html", "quoted") else text
        if (depth or kind == "id" and name.lower() in _DOT_KEYWORDS or after == ("op", "=") or before == ("op", "=")
                or before[0] == "id" and before[1].lower() in ("graph", "digraph", "subgraph")):
            continue
        nodes.add(name.rsplit("/", 1)[-1])
    return nodes


def resolve(client: LookerClient, model: str, views: list[str]) -> list[str]:
    """The views, once each, after checking each is a derived table of the model; BadInput naming
    every unknown one (and the model, when Looker does not know it)."""
    if not views:
        return []
    try:
        graph = client.call(f"model {model}: derived table graph", client.sdk.graph_derived_tables_for_model, model)
    except LookerError as error:
        if error.status == 404:
            raise BadInput(f"param 'pdt-model': model {model!r} does not exist (or this user cannot see it)",
                           param="pdt-model") from None
        raise
    # Nodes with a dot are database tables (schema.table); LookML view names have none.
    known = {name for name in dot_nodes(graph.graph_text or "") if "." not in name}
    unknown = [v for v in dict.fromkeys(views) if v not in known]
    if unknown:
        shown = ", ".join(sorted(known)[:20]) + (f", … ({len(known)} in all)" if len(known) > 20 else "")
        raise BadInput(f"param 'pdt-views': model {model!r} has no derived table {', '.join(unknown)}; "
                       f"known: {shown or 'none'}", param="pdt-views")
    return list(dict.fromkeys(views))


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
            build.materialization_id = str(answer.materialization_id or "") or None
            if build.materialization_id is None:
                build.status, build.message = "error", "Looker's start answer carried no materialization_id"
            else:  # started; only check answers carry a status (see the module docstring)
                build.status = "added"
                log("pdt build started", target=build.target, materialization_id=build.materialization_id)
        except LookerError as error:
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
