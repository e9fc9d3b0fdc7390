"""Fake Google token services for google-auth's keyless flows, on one loopback server:

- the **GCE/GKE metadata server** (GKE Workload Identity): the ping `GET /` and
  `/computeMetadata/v1/...` (service account info, access token, project id, universe domain),
  answered only with `Metadata-Flavor: Google` and always sending it back;
- **STS** `POST /v1/token` (RFC 8693 token exchange) for an `external_account` credential
  config (Workload Identity Federation): a subject token in, a federated access token out;
- **IAM Credentials** `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`
  (service-account impersonation), refusing callers not allowed to impersonate (403).

google-auth reads GCE_METADATA_HOST when it is imported and GCE_METADATA_IP at each ping
(google/auth/compute_engine/_metadata.py): a process that should use this metadata server
needs both set to `address` before it imports google-auth (`metadata_env()`).

Every request is recorded (`calls`), subject tokens and access tokens redacted.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tests.fakes.loopback import CallLog, Reply, Request, Served

from . import tokens

METADATA_PREFIX = "/computeMetadata/v1/"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
REDACTED = "<redacted>"
_GENERATE = re.compile(r"^/v1/projects/-/serviceAccounts/(?P<email>[^/:]+):generateAccessToken$")
_POOL = re.compile(r"^//iam\.googleapis\.com/(?P<pool>projects/\d+/locations/global/workloadIdentityPools/[^/]+)"
                   r"/providers/[^/]+$")


@dataclass
class Call:
    seq: int
    at: float
    service: str            # metadata, sts, iam or unknown
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    carries_key: bool = False   # a private key, or a grant signed with one, in the raw request


@dataclass
class AuthConfig:
    """What the fake services know. Change it before (or between) requests."""

    project_id: str = "interlock-test"
    project_number: str = "123456789012"
    # the Google service account the metadata server hands out (GKE Workload Identity's GSA)
    metadata_account: str = "tekton-steps@interlock-test.iam.gserviceaccount.com"
    universe_domain: str = "googleapis.com"
    token_lifetime: int = 3600
    # principal -> service accounts it may impersonate; None lets anyone impersonate anyone
    impersonation: dict[str, set[str]] | None = None
    # the STS audience a subject token must be exchanged for; None accepts any pool provider
    audience: str | None = None
    # answer the metadata server with this status instead (e.g. 503), `metadata_failures` times
    metadata_status: int | None = None
    metadata_failures: int = 0


class FakeGoogleAuth(Served, CallLog):
    def __init__(self, config: AuthConfig | None = None, *, port: int = 0,
                 clock: Callable[[], float] = time.time, in_container: bool = False) -> None:
        self.config = config or AuthConfig()
        self.clock = clock   # wall clock: token expiry is wall time
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._listen("fake-google-auth", port=port, in_container=in_container)

    # --- set-ups ---------------------------------------------------------------------------
    def metadata_env(self) -> dict[str, str]:
        """Environment that points google-auth at this metadata server (set before importing it)."""
        return {"GCE_METADATA_HOST": self.address, "GCE_METADATA_IP": self.address}

    def external_account_config(self, token_file: str, *, impersonate: str | None = None,
                                pool: str = "tekton", provider: str = "kubernetes") -> dict[str, Any]:
        """A credential config as `gcloud iam workload-identity-pools create-cred-config` writes
        it, with this server as STS (and IAM Credentials when impersonating)."""
        audience = (f"//iam.googleapis.com/projects/{self.config.project_number}/locations/global/"
                    f"workloadIdentityPools/{pool}/providers/{provider}")
        config: dict[str, Any] = {
            "universe_domain": self.config.universe_domain, "type": "external_account", "audience": audience,
            "subject_token_type": SUBJECT_TOKEN_TYPES[0], "token_url": f"{self.url}/v1/token",
            "credential_source": {"file": token_file, "format": {"type": "text"}},
        }
        if impersonate:
            config["service_account_impersonation_url"] = (
                f"{self.url}/v1/projects/-/serviceAccounts/{impersonate}:generateAccessToken")
        return config

    def subject_token(self, subject: str = "system:serviceaccount:ci:tekton-steps", *,
                      pool: str = "tekton", provider: str = "kubernetes", lifetime: float = 3600) -> str:
        audience = (f"//iam.googleapis.com/projects/{self.config.project_number}/locations/global/"
                    f"workloadIdentityPools/{pool}/providers/{provider}")
        return tokens.subject_token(subject, audience=audience, expires=self.clock() + lifetime)

    def iam_endpoint(self, email: str) -> str:
        """The generateAccessToken URL for impersonating `email` (impersonated_credentials'
        iam_endpoint_override)."""
        return f"{self.url}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"

    # --- recorded calls ----------------------------------------------------------------------
    def calls_to(self, service: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.service == service]

    # --- one request -------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        service = ("metadata" if request.path == "/" or request.path.startswith(METADATA_PREFIX) else
                   "sts" if request.path == "/v1/token" else
                   "iam" if _GENERATE.match(request.path) else "unknown")
        body = _recorded_body(request)
        headers = {k: (v if k != "authorization" else v.split(" ")[0] + " " + REDACTED)
                   for k, v in request.headers.items()
                   if k in ("metadata-flavor", "authorization", "content-type", "x-goog-api-client")}
        call = self._record(Call(0, self.clock(), service, request.method, request.path, dict(request.query),
                                 headers, body, carries_key=tokens.carries_key(request)))
        handler = {"metadata": self._metadata, "sts": self._sts, "iam": self._iam}.get(service)
        reply = handler(request) if handler else Reply(404, {"error": {"code": 404, "message": "Not Found",
                                                                        "status": "NOT_FOUND"}})
        call.status = reply.status
        return reply

    # metadata server ----------------------------------------------------------------------------
    def _metadata(self, request: Request) -> Reply:
        flavor = {"Metadata-Flavor": "Google"}
        if request.headers.get("metadata-flavor") != "Google":
            # what the real server says to a request without the header
            return Reply(403, text="Missing Metadata-Flavor:Google header.", content_type="text/html", headers=flavor)
        with self._lock:
            failing = self.config.metadata_status is not None and self.config.metadata_failures != 0
            if failing and self.config.metadata_failures > 0:
                self.config.metadata_failures -= 1
        if failing:
            return Reply(self.config.metadata_status or 503, text="Service Unavailable", content_type="text/plain",
                         headers=flavor)
        if request.method != "GET":
            return Reply(405, text="Method Not Allowed", content_type="text/plain", headers=flavor)
        if request.path == "/":
            return Reply(200, text="computeMetadata/\n", content_type="application/text", headers=flavor)
        path = request.path[len(METADATA_PREFIX):]
        account = self.config.metadata_account
        if path == "project/project-id":
            return Reply(200, text=self.config.project_id, content_type="application/text", headers=flavor)
        if path == "project/numeric-project-id":
            return Reply(200, text=self.config.project_number, content_type="application/text", headers=flavor)
        if path == "universe/universe-domain":
            return Reply(200, text=self.config.universe_domain, content_type="application/text", headers=flavor)
        match = re.fullmatch(r"instance/service-accounts/(?P<who>[^/]+)/(?P<what>.*)", path)
        if not match or match["who"] not in ("default", account):
            return Reply(404, text="Not Found", content_type="text/html", headers=flavor)
        what = match["what"]
        if what == "" and request.query.get("recursive") == "true":
            return Reply(200, {"aliases": ["default"], "email": account, "scopes": [CLOUD_PLATFORM]}, headers=flavor)
        if what == "email":
            return Reply(200, text=account, content_type="application/text", headers=flavor)
        if what == "token":
            scope = request.query.get("scopes", CLOUD_PLATFORM).replace(",", " ")
            lifetime = self.config.token_lifetime
            token = tokens.mint(account, expires=self.clock() + lifetime, scope=scope)
            return Reply(200, {"access_token": token, "expires_in": lifetime - 1, "token_type": "Bearer"}, headers=flavor)
        return Reply(404, text="Not Found", content_type="text/html", headers=flavor)

    # STS ------------------------------------------------------------------------------------------
    def _sts(self, request: Request) -> Reply:
        def refuse(error: str, description: str) -> Reply:
            return Reply(400, {"error": error, "error_description": description})

        if request.method != "POST" or "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return refuse("invalid_request", "Token exchange requests are form-encoded POSTs.")
        form = request.form()
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return refuse("unsupported_grant_type", f"Unsupported grant type {form.get('grant_type')!r}.")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return refuse("invalid_request", "The requested token type must be an access token.")
        if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            return refuse("invalid_request", f"Invalid subject token type {form.get('subject_token_type')!r}.")
        pool = _POOL.match(form.get("audience", ""))
        if pool is None or (self.config.audience and form["audience"] != self.config.audience):
            return refuse("invalid_target", "The target service indicated by the \"audience\" parameters is invalid.")
        claims = tokens.read_subject_token(form.get("subject_token", ""))
        if not claims or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("exp"), int):
            return refuse("invalid_grant", "The subject token is not a valid JWT.")
        if claims["exp"] <= self.clock():
            return refuse("invalid_grant", "The subject token has expired.")
        principal = f"principal://iam.googleapis.com/{pool['pool']}/subject/{claims['sub']}"
        lifetime = self.config.token_lifetime
        token = tokens.mint(principal, expires=self.clock() + lifetime, scope=form.get("scope", ""))
        return Reply(200, {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                           "expires_in": lifetime})

    # IAM Credentials ------------------------------------------------------------------------------
    def _iam(self, request: Request) -> Reply:
        def error(code: int, status: str, message: str) -> Reply:
            return Reply(code, {"error": {"code": code, "message": message, "status": status}})

        email = _GENERATE.match(request.path)["email"]  # type: ignore[index]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        caller = tokens.read(token) if scheme.lower() == "bearer" else None
        if caller is None or caller.expired(self.clock()):
            return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
                                                 "access token, login cookie or other valid authentication credential.")
        allowed = self.config.impersonation
        if allowed is not None and email not in allowed.get(caller.principal, set()):
            return error(403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                                                   "(or it may not exist).")
        try:
            body = request.json() or {}
            seconds = int(str(body.get("lifetime", "3600s")).rstrip("s"))
        except ValueError:
            return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not body.get("scope"):
            return error(400, "INVALID_ARGUMENT", "Scope required.")
        expires = int(self.clock()) + min(seconds, 3600)
        token = tokens.mint(email, expires=expires, scope=" ".join(body["scope"]))
        stamp = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Reply(200, {"accessToken": token, "expireTime": stamp})


def _recorded_body(request: Request) -> Any:
    if not request.body:
        return None
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        form = request.form()
        return {k: (REDACTED if k in ("subject_token", "actor_token") else v) for k, v in form.items()}
    try:
        return request.json()
    except ValueError:
        return request.text

