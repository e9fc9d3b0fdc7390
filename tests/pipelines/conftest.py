"""Pipeline-level tests: the catalog's pipelines, their Tasks resolved from the catalog by
`interlock run` and run in the real images, against every fake at once (tests/pipelines/world.py).
The mesh simulator and Prometheus are shared by the session; everything else is fresh per test."""
from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from interlock.e2e import plan
from interlock.paths import SOURCE

from .world import World, write_run


@dataclass
class PipelineRunResult:
    code: int
    outcome: dict
    stderr: str

    @property
    def condition(self) -> dict:
        return self.outcome.get("condition", {})

    @property
    def results(self) -> dict:
        return self.outcome.get("results", {})

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
    """`interlock run` a PipelineRun of the catalog pipeline against the World; its outcome."""
    import json

    run = world.pipelinerun(pipeline, name, **params)
    proc = subprocess.run(world.command(pipeline, write_run(world.folder, run)), capture_output=True, text=True,
                          cwd=SOURCE, timeout=600)
    return PipelineRunResult(proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr)


def actions(world: World) -> list[tuple[str, str, str]]:
    """(task, action, outcome) of each audit line, in order."""
    return [(line["task"], line["action"], line["outcome"]) for line in world.audit()]
