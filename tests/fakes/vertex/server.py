"""The fake Vertex AI server: a threaded loopback server that answers the routes table.

    with FakeVertex(spec=DiscoverySpec.from_reference(REFERENCE)) as vertex:   # spec optional
        vertex.state.job_plan = JobPlan(pending=1, running=60)
        vertex.faults.fail("customJobs.create", 429)
        ...  # point the client at vertex.url (api_endpoint), with tokens from FakeGoogleAuth
        assert vertex.methods() == ["customJobs.list", "customJobs.create", ...]

Each request goes: route, record, fault, token, query check, body (enum numbers to names, unknown
fields refused, discovery request schema), handler, discovery response schema, encoding (enum
numbers when the client asked `$alt=json;enum-encoding=int`), answer. A request that breaks
the discovery document is answered 400 and kept in `request_violations`; an answer that breaks
it (a bug in the fake) is answered 500 and kept in `spec_violations`. Tests assert both empty.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.google_auth import tokens
from tests.fakes.loopback import CallLog, Reply, Request, Served

from . import codec, errors
from .faults import Faults
from .routes import Call as HandlerCall
from .routes import Route, match
from .spec import DiscoverySpec
from .state import VertexState

INT_ENUMS = "enum-encoding=int"


@dataclass
class Call:
    """One request as the fake saw it."""

    seq: int
    at: float                       # the fake's clock
    method: str                     # the discovery method id ("customJobs.create"), None if unrouted
    http_method: str
    path: str
    query: dict[str, str]
    body: Any                       # JSON as sent (enums as the client encoded them)
    principal: str | None = None    # who the access token was issued to
    status: int = 0
    carries_key: bool = False       # a private key, a key-signed grant or an API key in the request


@dataclass
class Violation:
    method: str
    problems: list[str] = field(default_factory=list)


class FakeVertex(Served, CallLog):
    def __init__(self, state: VertexState | None = None, *, port: int = 0, spec: DiscoverySpec | None = None,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] = time.sleep,
                 principals: set[str] | None = None, in_container: bool = False) -> None:
        self.state = state or VertexState(clock or time.monotonic)
        self.spec = spec
        self.sleep = sleep            # what "slow" answers wait on (the ManualClock's advance in tests)
        self.principals = principals  # who may call; None: anyone with a valid token
        self.faults = Faults()
        self.calls: list[Call] = []
        self.request_violations: list[Violation] = []
        self.spec_violations: list[Violation] = []
        self._lock = threading.Lock()
        self._listen("fake-vertex", port=port, in_container=in_container)

    # (url, from Served, is the api_endpoint for google-cloud-aiplatform's REST transport)

    # --- recorded calls ----------------------------------------------------------------------------
    def methods(self) -> list[str | None]:
        with self._lock:
            return [c.method for c in self.calls]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # --- one request -------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        found = match(request.method, request.path)
        try:
            raw = request.json()
        except ValueError:
            raw = request.text
        call = self._record(Call(0, self.state.clock(), found[0].method if found else None, request.method,
                                 request.path, dict(request.query), raw, carries_key=tokens.carries_key(request)))
        if found is None:
            reply = errors.VertexError("NOT_FOUND", f"The requested URL {request.path} was not found.").reply()
        else:
            try:
                reply = self._answer(found[0], found[1], request, raw, call)
            except errors.VertexError as error:
                reply = error.reply()
        call.status = reply.status
        return reply

    def _answer(self, route: Route, params: dict[str, str], request: Request, raw: Any, call: Call) -> Reply:
        resource = f"projects/{params['project']}/locations/{params['location']}"
        fault = self.faults.take(route.method)
        if fault is not None and fault.delay:
            self.sleep(fault.delay)
        error = fault.error(route.permission, resource) if fault is not None else None
        if error is not None and not fault.lost:  # type: ignore[union-attr]
            raise error
        call.principal = self._authenticate(request, route, resource)
        problems = self.spec.check_query(route.method, request.query) if self.spec else []
        body = None
        if route.request is not None:
            if not isinstance(raw, dict):
                raise errors.invalid("Invalid JSON payload received: expected a JSON object.")
            try:
                body = codec.convert(route.request, raw, integers=False)
            except codec.Unparseable as error:
                self._violation(self.request_violations, route.method, [str(error)])
                raise errors.invalid(str(error)) from None
            if self.spec:
                problems += self.spec.validate(route.request, body, f"{route.method} request",
                                               partial=route.http_method == "PATCH")
        if problems:
            self._violation(self.request_violations, route.method, problems)
            raise errors.invalid("Request breaks the discovery document: " + "; ".join(problems[:3]))
        self.state.advance()
        handler_call = HandlerCall(params, dict(request.query), body, self.state.clock())
        with self.state.lock:
            answer = route.handler(self.state, handler_call)
        if handler_call.hold:
            self.sleep(handler_call.hold)
        if error is not None:   # a lost answer: the handler acted, the client sees the error
            raise error
        if self.spec:
            mismatch = self.spec.validate(route.response, answer, f"{route.method} answer")
            if mismatch:
                self._violation(self.spec_violations, route.method, mismatch)
                # fail loudly: a test must never pass on an answer Vertex AI could not give
                raise errors.VertexError("INTERNAL", "fake Vertex AI answer breaks the discovery document: "
                                         + "; ".join(mismatch[:3]))
        integers = INT_ENUMS in request.query.get("$alt", "")
        return Reply(200, codec.convert(route.response, answer, integers=integers))

    def _authenticate(self, request: Request, route: Route, resource: str) -> str:
        if "key" in request.query:
            raise errors.VertexError("UNAUTHENTICATED", "API keys are not supported by this API. Expected OAuth2 "
                                     "access token or other authentication credentials that assert a principal.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.unauthenticated(missing=True)
        info = tokens.read(token.strip())
        if info is None or info.expired(time.time()):
            raise errors.unauthenticated()
        if self.principals is not None and info.principal not in self.principals:
            raise errors.permission_denied(route.permission, resource)
        return info.principal

    def _violation(self, where: list[Violation], method: str, problems: list[str]) -> None:
        with self._lock:
            where.append(Violation(method, problems))
