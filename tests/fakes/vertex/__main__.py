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

from interlock.paths import REFERENCE
from tests.fakes.loopback import serve_until_stopped

from .faults import Fault, FaultSpecError
from .server import FakeVertex
from .spec import SPEC_RELATIVE_PATH, DiscoverySpec
from .state import JobPlan, Predictor, VertexState


class ScenarioError(ValueError):
    pass


def load_scenario(path: Path, state: VertexState) -> None:
    """Settings from a JSON file: job_plan, cancel_seconds, operation_seconds, predictors, page_size
    (format: scenarios/minimal.json)."""
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
    except (OSError, ValueError, TypeError) as error:
        raise ScenarioError(f"{path}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.vertex", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--scenario", type=Path, help="JSON settings (job plan, operation times, predictors)")
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
        spec = DiscoverySpec.from_reference(REFERENCE) if args.check_spec else None
    except (ScenarioError, FaultSpecError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fake = FakeVertex(state, port=args.port, spec=spec)
    for fault in faults:
        fake.faults.add(fault)
    serve_until_stopped(fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
