"""Run the mesh simulator standalone: python -m tests.fakes.mesh --api URL --namespace shop --virtualservice reviews \
--route primary --rps 20 --destination stable=reviews-v1 --destination canary=reviews-v2:errors=0.05

Prints its base URL on the first line of stdout (metrics at /metrics, what it sees at /state), then
serves until interrupted (Ctrl-C or SIGTERM). Without --api it reads the VirtualService as a pod
does: the API server at KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, with its ServiceAccount's
token (the kind e2e harness runs it so, scripts/interlock/e2e/fakes.py).
"""
from __future__ import annotations

import argparse
import os
import sys

from ..loopback import add_listen_options, wait_until_stopped
from .mesh import Mesh
from .server import MeshSimulator
from .traffic import Behaviour

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.mesh", description=__doc__.splitlines()[0])
    add_listen_options(parser)
    parser.add_argument("--api", help="Kubernetes API URL to read the VirtualService from (default: in-cluster, "
                                      "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
    parser.add_argument("--token", help="bearer token for the API")
    parser.add_argument("--token-file", help=f"file holding the bearer token, read at every poll (default without "
                                             f"--api and --token: {SERVICE_ACCOUNT_TOKEN})")
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
    api, token_file = args.api, args.token_file
    if not api:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            print("error: no --api, and KUBERNETES_SERVICE_HOST is not set (not in a pod)", file=sys.stderr)
            return 2
        api = f"https://{f'[{host}]' if ':' in host else host}:{port}"
        token_file = token_file or (None if args.token else SERVICE_ACCOUNT_TOKEN)
    mesh = Mesh(api, namespace=args.namespace, virtualservice=args.virtualservice, route=args.route,
                destinations=destinations, rps=args.rps, token=args.token, token_file=token_file,
                api_version=args.api_version, poll=args.poll, metrics_namespace=args.metrics_namespace)
    with MeshSimulator(port=args.port, tick=args.tick, in_container=args.in_container) as simulator:
        simulator.add(mesh)
        wait_until_stopped(simulator.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
