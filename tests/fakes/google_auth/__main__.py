"""Run the fake Google token services standalone: python -m tests.fakes.google_auth --port 0

Prints the base URL on the first line of stdout (STS is URL/v1/token; point GCE_METADATA_HOST and
GCE_METADATA_IP at the host:port for the metadata server), then serves until interrupted.
"""
from __future__ import annotations

import argparse
import sys

from tests.fakes.loopback import add_listen_options, serve_until_stopped

from .server import AuthConfig, FakeGoogleAuth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.google_auth", description=__doc__.splitlines()[0])
    add_listen_options(parser)
    parser.add_argument("--project", default=AuthConfig.project_id, help="project id the metadata server reports")
    parser.add_argument("--metadata-account", default=AuthConfig.metadata_account,
                        help="service account the metadata server hands out tokens for")
    parser.add_argument("--token-lifetime", type=int, default=AuthConfig.token_lifetime, help="seconds")
    parser.add_argument("--allow", action="append", default=[], metavar="PRINCIPAL=SERVICE_ACCOUNT",
                        help="who may impersonate whom (repeat); without any, everyone may impersonate anyone")
    args = parser.parse_args(argv)
    impersonation: dict[str, set[str]] | None = None
    for rule in args.allow:
        principal, eq, account = rule.rpartition("=")
        if not eq or not principal or not account:
            print(f"error: --allow {rule!r}: expected PRINCIPAL=SERVICE_ACCOUNT", file=sys.stderr)
            return 2
        impersonation = impersonation or {}
        impersonation.setdefault(principal, set()).add(account)
    config = AuthConfig(project_id=args.project, metadata_account=args.metadata_account,
                        token_lifetime=args.token_lifetime, impersonation=impersonation)
    serve_until_stopped(FakeGoogleAuth(config, port=args.port, in_container=args.in_container))
    return 0


if __name__ == "__main__":
    sys.exit(main())
