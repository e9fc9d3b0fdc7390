"""Run the fake Kubernetes API standalone: python -m tests.fakes.kubernetes --port 0 --object vs.yaml

Prints the server URL on the first line of stdout, then serves until interrupted (Ctrl-C or
SIGTERM). With --record, writes every call and every object's history as JSON when it stops.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import yaml

from interlock.paths import REFERENCE

from ..loopback import wait_until_stopped
from .crds import CrdError, istio_crds, load_crds
from .faults import Fault, FaultSpecError
from .rbac import Access
from .server import FakeKubernetes
from .tls import self_signed


def _pair(text: str, what: str) -> tuple[str, str]:
    left, sep, right = text.partition("=")
    if not sep or not left or not right:
        raise ValueError(f"{what} {text!r}: expected LEFT=RIGHT")
    return left, right


def build(args: argparse.Namespace, tls: tuple[Path, Path] | None) -> FakeKubernetes:
    crds = [crd for path in args.crds for crd in load_crds(path)] if args.crds else list(istio_crds(REFERENCE))
    access = Access()
    for text in args.token:
        token, user = _pair(text, "--token")
        access.tokens[token] = user
    for text in args.allow:
        user, namespace = _pair(text, "--allow")
        access.allow(user, namespace)
    for text in args.bind:
        user, role = _pair(text, "--bind")
        access.bind_role_file(Path(role), user)
    fake = FakeKubernetes(crds, port=args.port, access=access, tls=tls)
    for path in args.object:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                fake.put(doc)
    for text in args.fault:
        fake.faults.add(Fault.parse(text))
    return fake


def record(fake: FakeKubernetes, path: Path) -> None:
    history = {"/".join(key): [dataclasses.asdict(r) for r in fake.store.history(key)] for key in fake.store.keys()}
    path.write_text(json.dumps({"calls": [dataclasses.asdict(c) for c in fake.calls], "history": history}, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.kubernetes", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--crds", type=Path, action="append", default=[],
                        help="CRD YAML file (default: Istio's from the reference folder, else schema-less VirtualService/DestinationRule)")
    parser.add_argument("--object", type=Path, action="append", default=[], help="YAML file of objects to seed")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER",
                        help="accept this bearer token as USER (without any, requests are anonymous)")
    parser.add_argument("--allow", action="append", default=[], metavar="USER=NAMESPACE",
                        help="let USER do anything in NAMESPACE (any --allow or --bind turns authorization on)")
    parser.add_argument("--bind", action="append", default=[], metavar="USER=ROLE.yaml", help="grant a Role's rules to USER")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. patch:virtualservices:409x3, get:*:503x1, *:*:delay=0.5x2")
    parser.add_argument("--tls", action="store_true", help="serve https with a fresh self-signed certificate")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for this server (with the first --token)")
    parser.add_argument("--record", type=Path, help="on exit, write the calls and object histories as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fake-kubernetes-") as tmp:
        try:
            fake = build(args, self_signed(Path(tmp)) if args.tls else None)
        except (CrdError, FaultSpecError, ValueError, OSError, yaml.YAMLError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        with fake:
            if args.kubeconfig:
                token = _pair(args.token[0], "--token")[0] if args.token else None
                fake.kubeconfig(args.kubeconfig, token=token)
            wait_until_stopped(fake.url)
        if args.record:
            record(fake, args.record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
