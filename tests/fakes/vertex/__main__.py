"""Run the fake Vertex AI standalone: python -m tests.fakes.vertex --port 0

Prints the base URL (the clients' api_endpoint) on the first line of stdout, then serves until
interrupted (Ctrl-C or SIGTERM). Callers need access tokens from the fake token services
(python -m tests.fakes.google_auth).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.fakes.loopback import add_listen_options, serve_until_stopped

from .faults import Fault, FaultSpecError
from .server import FakeVertex
from .spec import SPEC_RELATIVE_PATH, reference_spec
from .state import JobPlan, Predictor, VertexState


class ScenarioError(ValueError):
    pass


SCENARIOS = Path(__file__).with_name("scenarios")


def scenario_path(text: str) -> Path:
    """A scenario file, or the name of one in scenarios/ (`samples`: scenarios/samples.json)."""
    builtin = SCENARIOS / f"{text}.json"
    return builtin if "/" not in text and not Path(text).exists() and builtin.is_file() else Path(text)


def load_scenario(path: Path, state: VertexState) -> None:
    """Settings from a JSON file: job_plan, cancel_seconds, operation_seconds, predictors, page_size,
    and what exists before the first call: models and endpoints by resource name (format:
    scenarios/minimal.json, scenarios/samples.json)."""
    try:
        data = json.loads(path.read_text())
        if "job_plan" in data:
            state.job_plan = JobPlan(**data["job_plan"])
        state.cancel_seconds = float(data.get("cancel_seconds", state.cancel_seconds))
        for kind, seconds in data.get("operation_seconds", {}).items():
            if kind not in state.operation_plans:
                raise ScenarioError(f"operation_seconds: unknown kind {kind!r} (one of {sorted(state.operation_plans)})")
            state.operation_plans[kind].seconds = float(seconds)
        for uri, predictor in data.get("predictors", {}).items():
            state.predictors[uri] = Predictor(**predictor)
        state.page_size = int(data.get("page_size", state.page_size))
        for name, model in data.get("models", {}).items():
            state.seed_model(name, model)
        for name, endpoint in data.get("endpoints", {}).items():
            state.seed_endpoint(name, endpoint)
    except (OSError, ValueError, TypeError) as error:
        raise ScenarioError(f"{path}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.vertex", description=__doc__.splitlines()[0])
    add_listen_options(parser)
    parser.add_argument("--scenario", type=scenario_path,
                        help="JSON settings (job plan, operation times, predictors, models, endpoints), or the name of "
                             "one in scenarios/ (samples: what the Tasks' samples need)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. customJobs.create:429x2:retry=1, customJobs.create:quota, "
                             "endpoints.predict:delay=0.5x3")
    parser.add_argument("--check-spec", action="store_true",
                        help=f"check every request and answer against REFERENCE/{SPEC_RELATIVE_PATH}")
    args = parser.parse_args(argv)
    state = VertexState()
    try:
        if args.scenario:
            load_scenario(args.scenario, state)
        faults = [Fault.parse(text) for text in args.fault]
        spec = reference_spec() if args.check_spec else None
        if args.check_spec and spec is None:
            raise FileNotFoundError(f"--check-spec: REFERENCE/{SPEC_RELATIVE_PATH} not found")
    except (ScenarioError, FaultSpecError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fake = FakeVertex(state, port=args.port, spec=spec, in_container=args.in_container)
    for fault in faults:
        fake.faults.add(fault)
    serve_until_stopped(fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
