"""What `make demo SCENARIO=…` runs: the flagship's sample PipelineRun against the local fakes,
healthy or with one thing going wrong (the failures tests/pipelines proves)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.mesh import Behaviour
from tests.fakes.vertex import JobPlan


@dataclass(frozen=True)
class Scenario:
    name: str
    story: str                                            # what goes wrong, what to watch
    world: dict[str, Any] = field(default_factory=dict)   # World options (tests/pipelines/world.py)
    params: dict[str, str] = field(default_factory=dict)  # PipelineRun params over the sample's
    bad_model: bool = False                               # the new model version predicts wrong


SCENARIOS = {s.name: s for s in [
    Scenario("release", "everything is healthy: the model goes live, then the application that calls it, "
             "then the dashboards that report on it"),
    Scenario("bad-canary", "the application's v2 answers 5 % errors: the canary is rolled back, then the model",
             world={"canary": Behaviour("reviews-v2", error_rate=0.05), "rps": 600}, params={"interval": "4s"}),
    Scenario("bad-model", "the new model predicts wrong: vertex-verify takes it off before anything else moves",
             bad_model=True),
    Scenario("lookml-error", "the dashboards' LookML is broken: the gate fails once the model and the application "
             "are live, and both are rolled back", params={"lookml-project": "broken_project"}),
    Scenario("job-failed", "the training job fails: nothing was deployed, so there is nothing to undo",
             world={"job": JobPlan(pending=0.5, running=1.5, outcome="JOB_STATE_FAILED")}),
]}
