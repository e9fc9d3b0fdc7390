"""Pipeline-level tests: the catalog's pipelines, their Tasks resolved from the catalog by
`interlock run` and run in the real images, against every fake at once (tests/pipelines/world.py).
The mesh simulator and Prometheus are shared by the session; everything else is fresh per test."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from interlock.e2e import plan
from interlock.paths import SOURCE
from tests.tasks.conftest import TaskRunResult

from .world import World, write_run

# a pipeline task's (status, reason) as Tekton reports it
OK, FAILED = ("True", "Succeeded"), ("False", "Failed")
STOPPING, MISSING, NOT_NEEDED = (("Skipped", "PipelineRun was stopping"), ("Skipped", "Results were missing"),
                                 ("Skipped", "When Expressions evaluated to false"))


class PipelineRunResult(TaskRunResult):
    """The exit code, `-o json` outcome and log of a PipelineRun, and each of its tasks."""

    def task(self, name: str) -> dict:
        return next(t for t in self.outcome["tasks"] if t["pipelineTask"] == name)

    @property
    def tasks(self) -> dict[str, tuple[str, str]]:
        """Every pipeline task: (status, reason) of its TaskRun, or ("Skipped", why) as Tekton reports it."""
        ran = {t["pipelineTask"]: (t["condition"]["status"], t["condition"]["reason"]) for t in self.outcome["tasks"]}
        return {**ran, **{s["name"]: ("Skipped", s["reason"]) for s in self.outcome.get("skippedTasks", [])}}


@pytest.fixture
def images(looker_image: str, istio_image: str, vertex_image: str) -> None:
    """The three step images, built once per session."""


@pytest.fixture
def world(tmp_path, simulator, prometheus, images) -> Iterator[Callable[..., World]]:
    """world(**options) -> a started World (see World for the options); stopped after the test,
    which fails if any fake saw a request or gave an answer outside its API's document."""
    stack = ExitStack()
    made: list[World] = []

    def make(**options: Any) -> World:
        made.append(stack.enter_context(World(tmp_path / f"world-{len(made)}", simulator, prometheus, **options)))
        return made[-1]

    with stack:
        yield make
    for each in made:
        each.check_clean()


@pytest.fixture(scope="session")
def expected_results() -> Callable[[str], dict[str, str]]:
    """expected_results(pipeline): the results its sample must produce, as the kind e2e harness
    asserts them (tests/e2e/expectations.yaml)."""
    expected = plan.expectations()
    return lambda pipeline: expected[f"pipelines/{pipeline}/0.1/samples/pipelinerun.yaml"]


def run_pipeline(world: World, pipeline: str, name: str, **params: str) -> PipelineRunResult:
    """`interlock run` the pipeline's sample (`params` over it) against the World; its outcome."""
    run = world.pipelinerun(pipeline, name, **params)
    proc = subprocess.run(world.command(pipeline, write_run(world.folder, run)), capture_output=True, text=True,
                          cwd=SOURCE, timeout=600)
    return PipelineRunResult(proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr)


def actions(world: World) -> list[tuple[str, str, str]]:
    """(task, action, outcome) of each audit line, in order."""
    return [(line["task"], line["action"], line["outcome"]) for line in world.audit()]


def failed(completed: int, skipped: int) -> dict:
    """The condition of a PipelineRun in which one task failed, as Tekton words it."""
    return {"type": "Succeeded", "status": "False", "reason": "Failed",
            "message": f"Tasks Completed: {completed} (Failed: 1, Cancelled 0), Skipped: {skipped}"}


def assert_as_it_began(world) -> None:
    """Every system as it began: the route's weights, what the endpoint serves (and the default
    model version), Looker's datagroups, PDT builds, queries and deliveries. The version uploaded
    stays in the Model Registry, serving nothing: a re-run finds it instead of uploading it again."""
    assert world.snapshot() == world.start
    [model] = world.vertex.state.models.values()
    assert all(v.aliases == [] for k, v in model.versions.items() if k != "1")
