"""Run the mesh simulator standalone: python -m tests.fakes.mesh --api URL --namespace shop --virtualservice reviews \
--route primary --rps 20 --destination stable=reviews-v1 --destination canary=reviews-v2:errors=0.05

Prints its base URL on the first line of stdout (metrics at /metrics, what it sees at /state), then
serves until interrupted (Ctrl-C or SIGTERM).
"""
from __future__ import annotations

import argparse
import sys

from ..loopback import wait_until_stopped
from .mesh import Mesh
from .server import MeshSimulator
from .traffic import Behaviour


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.mesh", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--api", required=True, help="Kubernetes API URL to read the VirtualService from")
    parser.add_argument("--token", help="bearer token for the API")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--virtualservice", required=True)
    parser.add_argument("--route", required=True, help="name of the HTTP route whose weights split the traffic")
    parser.add_argument("--api-version", default="v1")
    parser.add_argument("--metrics-namespace", help="destination_workload_namespace label (default: --namespace)")
    parser.add_argument("--rps", type=float, default=20.0, help="requests per second, split by the weights")
    parser.add_argument("--destination", action="append", required=True, metavar="SPEC",
                        help="KEY=WORKLOAD[:errors=RATE][:latency=MEDIAN_MS/SIGMA][:flap=SECONDS/RATE]; KEY is a subset or host")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between reads of the weights")
    parser.add_argument("--tick", type=float, default=0.05, help="seconds between traffic updates")
    args = parser.parse_args(argv)
    try:
        destinations = dict(Behaviour.parse(text) for text in args.destination)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mesh = Mesh(args.api, namespace=args.namespace, virtualservice=args.virtualservice, route=args.route,
                destinations=destinations, rps=args.rps, token=args.token, api_version=args.api_version, poll=args.poll,
                metrics_namespace=args.metrics_namespace)
    with MeshSimulator(port=args.port, tick=args.tick) as simulator:
        simulator.add(mesh)
        wait_until_stopped(simulator.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
