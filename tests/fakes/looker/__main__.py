"""Run the fake Looker standalone: python -m tests.fakes.looker --port 0

Prints the base URL (for LOOKERSDK_BASE_URL) on the first line of stdout, then serves until
interrupted (Ctrl-C or SIGTERM).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .faults import Fault, FaultSpecError
from .server import FakeLooker
from .spec import SPEC_RELATIVE_PATH, LookerSpec
from .state import ScenarioError, default_state, load_scenario


def _reference() -> Path:
    from interlock.paths import REFERENCE  # the interlock package is not in the fake's container image

    return REFERENCE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.looker", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--in-container", action="store_true",
                        help="listen on every interface (0.0.0.0): only for the fake's container image, "
                             "which the kind e2e harness runs as a pod behind a Service")
    parser.add_argument("--scenario", type=Path, help="JSON scenario file (default: built-in sample content)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. create_query_task:429x2:retry=1, query_task:502x1, dashboard:delay=0.5x3")
    parser.add_argument("--token-max-calls", type=int, help="reject a token with 401 after this many calls")
    parser.add_argument("--token-lifetime", type=float, help="reject a token with 401 after this many seconds")
    parser.add_argument("--check-spec", action="store_true",
                        help=f"check every answer against ../shared/reference/{SPEC_RELATIVE_PATH} "
                             "(INTERLOCK_REFERENCE; answers 500 on a mismatch)")
    args = parser.parse_args(argv)
    try:
        state = load_scenario(args.scenario) if args.scenario else default_state()
        faults = [Fault.parse(text) for text in args.fault]
        spec = LookerSpec.from_reference(_reference()) if args.check_spec else None
    except (ScenarioError, FaultSpecError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fake = FakeLooker(state, host="0.0.0.0" if args.in_container else "127.0.0.1", port=args.port, spec=spec,
                      in_container=args.in_container)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
