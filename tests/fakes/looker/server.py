"""The fake Looker HTTP server: a threaded server on loopback that answers the routes table.

    with FakeLooker() as looker:             # default content, random free port
        looker.faults.rate_limit("create_query_task", times=2, retry_after=0)
        ...  # point looker-sdk at looker.url with looker.client_id / looker.client_secret
        assert looker.operations()[:2] == ["login", "create_query_task"]

Each request is handled in this order: route, record, check of the request against the OpenAPI
document, injected fault, token check, handler, `fields` filter, check of the answer, answer.

The fake checks itself against Looker's OpenAPI document (`reference_spec`) in every use unless
told not to (`check_spec=False`). A request or an answer outside the document, or a crash of the
fake, is recorded in `spec_violations` and answered with 400 or 500, so a test can never pass on
an exchange real Looker would not have; `assert_clean()` fails a test that caused one.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import loopback
from ..loopback import CallLog, Served
from .faults import Faults
from .model import User
from .routes import API_PREFIX, Reply, Request, Route, error, match
from .spec import LookerSpec, reference_spec
from .state import LookerState, default_state

REDACTED = "<redacted>"
# looker-sdk's logout() calls /api/logout without the version; Looker accepts both.
UNVERSIONED_LOGOUT = "/api/logout"


@dataclass
class Call:
    """One request as the fake saw it (secrets redacted)."""

    seq: int
    at: float
    method: str
    path: str
    operation: str | None
    query: dict[str, str]
    body: Any
    user_id: str | None = None
    status: int = 0


@dataclass
class Token:
    user: User
    issued_at: float
    calls: int = 0
    revoked: bool = False


@dataclass
class SpecViolation:
    """A request or answer outside the OpenAPI document, or a crash of the fake (status 500)."""

    operation: str
    status: int
    problems: list[str] = field(default_factory=list)


def _reference():
    from interlock.paths import REFERENCE  # the interlock package is not in the fake's container image

    return REFERENCE


class FakeLooker(Served, CallLog):
    """A Looker API 4.0 look-alike for tests. Not thread-safe to reconfigure while serving
    except through `faults`, `expire_tokens()` and the state lock."""

    def __init__(self, state: LookerState | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 spec: LookerSpec | None = None, check_spec: bool = True, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, in_container: bool = False) -> None:
        """`spec` defaults to Looker's document in the reference folder (when it is there);
        `check_spec=False` turns every check off (a test that validates answers itself, or the
        fake's container image, which has neither the document nor jsonschema)."""
        self._listen("fake-looker", host=host, port=port, in_container=in_container)
        self.state = state if state is not None else default_state()
        self.faults = Faults()
        self.spec = (spec or reference_spec(_reference())) if check_spec else None
        self.clock = clock
        self.wall_clock = wall_clock
        self.calls: list[Call] = []
        self.spec_violations: list[SpecViolation] = []
        self.tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    # `url` (from Served) is the base URL looker-sdk wants (LOOKERSDK_BASE_URL), without /api/4.0

    @property
    def first_user(self) -> User:
        return next(iter(self.state.users.values()))

    @property
    def client_id(self) -> str:
        return self.first_user.client_id

    @property
    def client_secret(self) -> str:
        return self.first_user.client_secret

    def sdk_env(self) -> dict[str, str]:
        """Environment variables that point looker-sdk at this fake."""
        return {"LOOKERSDK_BASE_URL": self.url, "LOOKERSDK_CLIENT_ID": self.client_id,
                "LOOKERSDK_CLIENT_SECRET": self.client_secret, "LOOKERSDK_VERIFY_SSL": "false",
                "LOOKERSDK_API_VERSION": "4.0", "LOOKERSDK_TIMEOUT": "10"}

    # --- tokens --------------------------------------------------------------------------
    def issue_token(self, user: User, now: float) -> dict[str, Any]:
        token = secrets.token_hex(20)
        with self._lock:
            self.tokens[token] = Token(user, now)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.faults.tokens.expires_in,
                "refresh_token": None}

    def revoke_token(self, token: str) -> None:
        with self._lock:
            if token in self.tokens:
                self.tokens[token].revoked = True

    def expire_tokens(self) -> None:
        """Make every token issued so far answer 401, as an expired session does."""
        with self._lock:
            for token in self.tokens.values():
                token.revoked = True

    def _authenticate(self, header: str | None, now: float) -> tuple[User | None, str]:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not value:
            return None, ""
        rules = self.faults.tokens
        with self._lock:
            token = self.tokens.get(value.strip())
            if token is None or token.revoked:
                return None, value
            token.calls += 1
            too_old = rules.lifetime is not None and now - token.issued_at >= rules.lifetime
            too_used = rules.max_calls is not None and token.calls > rules.max_calls
            if too_old or too_used:
                token.revoked = True
                return None, value
            return token.user, value

    # --- recorded calls ------------------------------------------------------------------
    def operations(self) -> list[str | None]:
        """The operation ids of every recorded call, in arrival order."""
        with self._lock:
            return [c.operation for c in self.calls]

    def calls_to(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def assert_clean(self) -> None:
        """Fail when any request or answer broke the OpenAPI document, or the fake crashed."""
        with self._lock:
            found = list(self.spec_violations)
        assert not found, "fake Looker exchange outside the OpenAPI document (or a crash of the fake): " + \
            "; ".join(f"{v.operation} {v.status}: {' | '.join(v.problems[:3])}" for v in found[:5])

    def _violation(self, operation: str, status: int, problems: list[str]) -> None:
        with self._lock:
            self.spec_violations.append(SpecViolation(operation, status, problems))

    # --- one request ---------------------------------------------------------------------
    def handle(self, request: loopback.Request) -> Reply:
        method, path, query, headers = request.method, request.path, request.query, request.headers
        relative = "/logout" if path == UNVERSIONED_LOGOUT else (
            path[len(API_PREFIX):] if path.startswith(API_PREFIX + "/") else None)
        found = match(method, relative) if relative is not None else None
        content_type = headers.get("content-type", "")
        parsed = _parse_body(request.body, content_type)
        call = self._record(Call(0, self.wall_clock(), method, path, found[0].operation if found else None,
                                 _redact(query), _redact(parsed)))
        if found is None:
            call.status = 404
            return error(404, "Not found")
        route, params = found
        try:
            reply = self._checked_request(route, query, parsed, content_type) or \
                self._answer(route, params, query, parsed, headers, call)
        except Exception as exc:
            reply = self._crash(route.operation, exc)
        call.status = reply.status
        return reply

    def crashed(self, request: loopback.Request, exc: Exception) -> Reply:
        return self._crash(f"{request.method} {request.path}", exc)

    def _crash(self, operation: str, exc: Exception) -> Reply:
        """A bug in the fake: recorded, so the test fails instead of passing on a 500."""
        self._violation(operation, 500, [f"the fake crashed: {type(exc).__name__}: {exc}"])
        return error(500, f"fake Looker crashed: {type(exc).__name__}: {exc}")

    def _checked_request(self, route: Route, query: dict[str, str], body: Any, content_type: str) -> Reply | None:
        """None when the request fits the document (or nothing is checked); else a 400 naming why."""
        if self.spec is None:
            return None
        problems = self.spec.validate_request(route.operation, query, body, content_type)
        if not problems:
            return None
        self._violation(route.operation, 400, problems)
        return error(400, "request breaks the OpenAPI document: " + "; ".join(problems[:3]))

    def _answer(self, route: Route, params: dict[str, str], query: dict[str, str], body: Any,
                headers: dict[str, str], call: Call) -> Reply:
        fault = self.faults.take(route.operation)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status == 429:
            reply = error(429, "Too Many Requests")
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = str(fault.retry_after)
            return self._checked(route, reply)
        if fault is not None and fault.status:
            return self._checked(route, error(fault.status, _REASONS.get(fault.status, "Server error")))
        now = self.clock()
        user: User | None = None
        if route.needs_token:
            user, token = self._authenticate(headers.get("authorization"), now)
            if user is None:
                return self._checked(route, error(401, "Requires authentication."))
            params = {**params, "_token": token}
            call.user_id = user.id
        request = Request(route.method, route.path, params, query, body, user, now, self.wall_clock())
        with self.state.lock:
            reply = route.handler(self, request)
        if reply.status == 200 and reply.text is None and "fields" in query:
            reply.body = _only_fields(reply.body, query["fields"])
        return self._checked(route, reply)

    def _checked(self, route: Route, reply: Reply) -> Reply:
        if self.spec is None:
            return reply
        instance = reply.text if reply.text is not None else reply.body
        if reply.status == 204:
            instance = ""  # the body we send is empty
        problems = self.spec.validate(route.operation, reply.status, instance)
        if not problems:
            return reply
        self._violation(route.operation, reply.status, problems)
        # Fail loudly: a test must never pass on an answer real Looker could not give.
        return error(500, "fake Looker answer breaks the OpenAPI schema: " + "; ".join(problems[:3]))


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _parse_body(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if k == "client_secret" else v) for k, v in value.items()}
    return value


def _only_fields(body: Any, fields: str) -> Any:
    """Looker's `fields` parameter: keep only the listed top-level keys (nested lists ignored)."""
    wanted = {name.split("(")[0].strip() for name in _split_top_level(fields) if name.strip()}
    if isinstance(body, list):
        return [_only_fields(item, fields) for item in body]
    if isinstance(body, dict) and wanted:
        return {k: v for k, v in body.items() if k in wanted}
    return body


def _split_top_level(fields: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in fields:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]
