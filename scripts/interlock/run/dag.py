"""The order of a Pipeline's tasks: a DAG built from `runAfter` and from result references.

Tekton draws an edge A -> B when B lists A in `runAfter` or when B uses `$(tasks.A.results.r)`
(in params, matrix or when expressions). `finally` tasks form no graph of their own: they all
start once every DAG task is done, and may read DAG tasks' results but not each other's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from interlock.run.variables import references

# `tasks.X.results.r…` and `tasks.X.matrix.length` make X a parent; `tasks.X.status` does not
_TASK_REF = re.compile(r"^tasks\.([^.\[]+)\.(?:results|matrix)(?:\.|$)")


class PipelineInvalid(ValueError):
    """A Pipeline that cannot be run as written (Tekton: PipelineValidationFailed)."""


@dataclass(frozen=True)
class Graph:
    order: tuple[str, ...]                   # a deterministic topological order
    parents: Mapping[str, frozenset[str]]    # task -> tasks it waits for

    def children(self, name: str) -> list[str]:
        return [t for t in self.order if name in self.parents[t]]


def task_references(pipeline_task: Mapping) -> set[str]:
    """Names of pipeline tasks whose results this task reads (`$(tasks.X.results…)`)."""
    fields = {k: pipeline_task.get(k) for k in ("params", "matrix", "when", "workspaces")}
    if isinstance(pipeline_task.get("taskSpec"), dict):  # PipelineTaskResultRefs: steps too
        spec = pipeline_task["taskSpec"]
        fields["taskSpec"] = {k: spec.get(k) for k in ("steps", "sidecars")}
    out = set()
    for ref in references(fields):
        m = _TASK_REF.match(ref)
        if m:
            out.add(m.group(1))
    return out


def build(tasks: list[Mapping], where: str = "spec.pipelineSpec.tasks") -> Graph:
    """Edges from runAfter and result references; raises PipelineInvalid naming the field."""
    names = [t.get("name") for t in tasks]
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise PipelineInvalid(f"{where}[{i}].name: every pipeline task needs a name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PipelineInvalid(f"{where}: duplicate pipeline task name(s) {', '.join(dupes)}")
    known = set(names)
    parents: dict[str, frozenset[str]] = {}
    for i, task in enumerate(tasks):
        name = task["name"]
        after = task.get("runAfter") or []
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise PipelineInvalid(f"{where}[{i}].runAfter: must be a list of task names")
        for a in after:
            if a not in known:
                raise PipelineInvalid(f"{where}[{i}].runAfter: {a!r} is not a task of this pipeline")
        used = task_references(task)
        for u in sorted(used):
            if u not in known:
                raise PipelineInvalid(f"{where}[{i}] ({name}): $(tasks.{u}.…) names no task "
                                      "of this pipeline")
        deps = frozenset(after) | frozenset(used)
        if name in deps:
            raise PipelineInvalid(f"{where}[{i}] ({name}): a task cannot depend on itself")
        parents[name] = deps
    return Graph(order=tuple(_topological(names, parents, where)), parents=parents)


def _topological(names: list[str], parents: Mapping[str, Iterable[str]], where: str) -> list[str]:
    """Kahn's algorithm, taking ready tasks in declaration order so output is stable."""
    pending = {n: set(parents[n]) for n in names}
    order: list[str] = []
    while pending:
        ready = [n for n in names if n in pending and not pending[n]]
        if not ready:
            cycle = sorted(pending)
            raise PipelineInvalid(f"{where}: the tasks {', '.join(cycle)} form a cycle "
                                  "(runAfter / result references)")
        for n in ready:
            order.append(n)
            del pending[n]
        for deps in pending.values():
            deps.difference_update(ready)
    return order


def validate_finally(final_tasks: list[Mapping], dag_names: set[str],
                     where: str = "spec.pipelineSpec.finally") -> None:
    """finally tasks may read DAG results, must not use runAfter or read each other."""
    names = [t.get("name") for t in final_tasks]
    for i, task in enumerate(final_tasks):
        if not isinstance(task.get("name"), str) or not task.get("name"):
            raise PipelineInvalid(f"{where}[{i}].name: every finally task needs a name")
        if task.get("runAfter"):
            raise PipelineInvalid(f"{where}[{i}].runAfter: finally tasks cannot use runAfter "
                                  "(they run after all tasks)")
        for u in sorted(task_references(task)):
            if u in names:
                raise PipelineInvalid(f"{where}[{i}] ({task['name']}): finally tasks cannot read "
                                      f"results of finally task {u!r}")
            if u not in dag_names:
                raise PipelineInvalid(f"{where}[{i}] ({task['name']}): $(tasks.{u}.…) names no "
                                      "task of this pipeline")
    dupes = sorted({n for n in names if names.count(n) > 1} | (set(names) & dag_names))
    if dupes:
        raise PipelineInvalid(f"{where}: duplicate pipeline task name(s) {', '.join(dupes)}")
