"""Run the fake Looker standalone: python -m tests.fakes.looker --port 0

Prints the base URL (for LOOKERSDK_BASE_URL) on the first line of stdout, then serves until
interrupted (Ctrl-C or SIGTERM), then prints one JSON line of stats: calls, spec violations and
the peak of query tasks one user had in flight at once.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ..loopback import IN_CONTAINER, add_listen_options
from .faults import Fault, FaultSpecError
from .server import FakeLooker
from .spec import SPEC_RELATIVE_PATH
from .state import ScenarioError, default_state, load_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.looker", description=__doc__.splitlines()[0])
    add_listen_options(parser)
    parser.add_argument("--scenario", type=Path, help="JSON scenario file (default: built-in sample content)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. create_query_task:429x2:retry=1, query_task:502x1, dashboard:delay=0.5x3")
    parser.add_argument("--token-max-calls", type=int, help="reject a token with 401 after this many calls")
    parser.add_argument("--token-lifetime", type=float, help="reject a token with 401 after this many seconds")
    parser.add_argument("--no-check-spec", dest="check_spec", action="store_false",
                        help=f"do not check requests and answers against REFERENCE/{SPEC_RELATIVE_PATH} "
                             "(checked by default when it is there: 400/500 on a mismatch, listed at exit; "
                             "never in a container, whose image has neither the document nor jsonschema)")
    args = parser.parse_args(argv)
    try:
        state = load_scenario(args.scenario) if args.scenario else default_state()
        faults = [Fault.parse(text) for text in args.fault]
        fake = FakeLooker(state, host=IN_CONTAINER if args.in_container else "127.0.0.1", port=args.port,
                          check_spec=args.check_spec and not args.in_container, in_container=args.in_container)
    except (ScenarioError, FaultSpecError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for fault in faults:
        fake.faults.add(fault)
    fake.faults.tokens.max_calls = args.token_max_calls
    fake.faults.tokens.lifetime = args.token_lifetime
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        print(fake.url, flush=True)
        print(f"client_id={fake.client_id} (secret from the scenario)", file=sys.stderr, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    for violation in fake.spec_violations:
        print(f"violation: {violation.operation} {violation.status}: {'; '.join(violation.problems)}", file=sys.stderr)
    # what a benchmark needs to judge its figures: how many queries really ran at once
    print(json.dumps({"calls": len(fake.calls), "violations": len(fake.spec_violations),
                      "peak_in_flight": max(fake.state.runner.peak_in_flight.values(), default=0)}), flush=True)
    return 1 if fake.spec_violations else 0


if __name__ == "__main__":
    sys.exit(main())
