"""The fake Kubernetes API server: custom resources over the wire protocol the `kubernetes` client
(and kubectl) speak, on loopback.

    with FakeKubernetes(istio_crds(REFERENCE)) as kube:
        kube.put(virtual_service)                      # seed (schema-checked, no auth)
        kube.kubeconfig(tmp / "config", token=...)     # for the client under test
        ...
        assert kube.get("virtualservices", "shop", "reviews")["spec"] == expected
        assert [c.status for c in kube.calls_to("patch")] == [409, 200]

Paths (those of CustomObjectsApi): /apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}] and
/apis/{group}/{version}/{plural} (every namespace), plus /version. Each request is handled in this
order: record, authenticate (401), find the resource (404), authorize (403), injected fault,
handler; writes then check resourceVersion (409), apply the patch by Content-Type (415, 422),
validate and prune against the CRD schema (422, or 400 with fieldValidation=Strict), and store.
"""
from __future__ import annotations

import copy
import re
import secrets
import string
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import loopback
from ..loopback import CallLog, Served
from . import status as st
from .crds import CustomResource
from .faults import Faults
from .patch import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, PatchError, json_patch, merge_patch
from .rbac import Access
from .schema import validate
from .store import Revision, Store

_PATH = re.compile(r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)(?:/namespaces/(?P<namespace>[^/]+))?"
                   r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<subresource>[^/]+))?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
VERSION_INFO = {"major": "1", "minor": "31", "gitVersion": "v1.31.0-interlock-fake", "platform": "linux/amd64"}


@dataclass
class Call:
    """One request as the fake saw it."""

    seq: int
    at: float
    method: str
    path: str
    verb: str | None = None
    resource: str | None = None  # plural
    namespace: str | None = None
    name: str | None = None
    content_type: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    user: str | None = None
    status: int = 0
    resource_version: str | None = None  # of the object after a successful write


@dataclass
class _Request:
    method: str
    verb: str
    crd: CustomResource
    version: str
    namespace: str | None
    name: str | None
    query: dict[str, str]
    content_type: str
    body: Any
    call: Call


class FakeKubernetes(Served, CallLog):
    def __init__(self, crds: Iterable[CustomResource], *, host: str = "127.0.0.1", port: int = 0,
                 access: Access | None = None, tls: tuple[Path, Path] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.crds = {(c.group, c.plural): c for c in crds}
        self.access = access or Access()
        self.faults = Faults()
        self.store = Store(clock)
        self.clock = clock
        self.calls: list[Call] = []
        self.unchecked_rules: set[str] = set()
        self._lock = threading.Lock()
        self._listen("fake-kubernetes", host=host, port=port, tls=tls)

    @property
    def schema_checked(self) -> bool:
        """Whether every served resource has a schema (False with the schema-less fallback CRDs)."""
        return all(schema is not None for crd in self.crds.values() for schema in crd.versions.values())

    def kubeconfig(self, path: Path, *, token: str | None = None, namespace: str = "default") -> Path:
        """Write a kubeconfig that points at this fake (with `token` as the user's bearer token)."""
        cluster: dict[str, Any] = {"server": self.url}
        if self._tls:
            cluster["certificate-authority"] = str(self._tls[0])
        user = {"token": token} if token else {}
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                  "clusters": [{"name": "fake", "cluster": cluster}],
                  "users": [{"name": "fake-user", "user": user}],
                  "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-user", "namespace": namespace}}]}
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # --- seeding and assertions (no auth, no faults) -------------------------------------
    def _crd_for(self, api_version: str, kind: str) -> tuple[CustomResource, str]:
        group, _, version = api_version.rpartition("/")
        for crd in self.crds.values():
            if crd.group == group and crd.kind == kind and version in crd.versions:
                return crd, version
        raise ValueError(f"{api_version} {kind}: not a resource this fake serves ({sorted(self.crds)})")

    def _crd_named(self, resource: str) -> CustomResource:
        plural, _, group = resource.partition(".")
        matches = [c for c in self.crds.values() if c.plural == plural and (not group or c.group == group)]
        if len(matches) != 1:
            raise KeyError(f"resource {resource!r}: {len(matches)} matches among {sorted(c.resource for c in self.crds.values())}")
        return matches[0]

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or overwrite an object as an administrator would; ValueError if the schema refuses it."""
        crd, version = self._crd_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace", "default") if crd.namespaced else ""
        outcome = self._validated(crd, version, obj)
        if outcome.causes:
            raise ValueError("; ".join(f"{c.field}: {c.message}" for c in outcome.causes))
        new = outcome.value
        new["metadata"] = {**new.get("metadata", {}), "namespace": namespace}
        new["metadata"].pop("resourceVersion", None)
        with self.store.lock:
            return self.store.write((crd.resource, namespace, metadata["name"]), new, "seed")

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object (a copy), or None. `resource` is a plural, optionally `.group`."""
        return self.store.get((self._crd_named(resource).resource, namespace, name))

    def history(self, resource: str, namespace: str, name: str) -> list[Revision]:
        return self.store.history((self._crd_named(resource).resource, namespace, name))

    def edit(self, resource: str, namespace: str, name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Change a stored object as another writer would (new resourceVersion)."""
        key = (self._crd_named(resource).resource, namespace, name)
        with self.store.lock:
            current = self.store.get(key)
            if current is None:
                raise KeyError(f"{key}: no such object")
            change(current)
            return self.store.write(key, current, "edit")

    def calls_to(self, verb: str | None = None, resource: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if (verb is None or c.verb == verb) and (resource is None or c.resource == resource)]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- one request ---------------------------------------------------------------------
    def handle(self, request: loopback.Request) -> st.Reply:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        call = Call(0, self.clock(), request.method, request.path, content_type=content_type, query=request.query)
        try:
            call.body = request.json()
        except ValueError:
            call.body = request.text
        self._record(call)
        reply = self._answer(request.method, request.path, request.headers, request.query, content_type, call)
        call.status = reply.status
        return reply

    def crashed(self, request: loopback.Request, exc: Exception) -> st.Reply:
        return st.internal_error(f"fake Kubernetes crashed: {type(exc).__name__}: {exc}")

    def _answer(self, method: str, path: str, headers: dict[str, str], query: dict[str, str], content_type: str,
                call: Call) -> st.Reply:
        user = self.access.user_for(headers.get("authorization"))
        call.user = user
        if user is None:
            return st.unauthorized()
        if path == "/version":
            return st.Reply(200, VERSION_INFO)
        match = _PATH.match(path)
        crd = self.crds.get((match["group"], match["plural"])) if match else None
        namespaced_path = match is not None and match["namespace"] is not None
        if match is None or crd is None or match["version"] not in crd.versions or match["subresource"] \
                or (match["name"] is not None and namespaced_path != crd.namespaced):
            return st.status(404, "NotFound", "the server could not find the requested resource")
        verb = VERBS.get(method)
        if verb is None:
            return st.method_not_supported(crd.plural, crd.group, method)
        name = urllib.parse.unquote(match["name"]) if match["name"] else None
        if name is None:
            verb = {"get": "watch" if query.get("watch") in ("true", "1") else "list"}.get(verb, verb)
            if verb not in ("list", "watch", "create"):
                return st.method_not_supported(crd.plural, crd.group, verb)
        namespace = match["namespace"]
        call.verb, call.resource, call.namespace, call.name = verb, crd.plural, namespace, name
        if not self.access.permits(user, verb, crd.group, crd.plural, namespace, name):
            return st.forbidden(user, verb, crd.plural, crd.group, namespace, name)
        fault = self.faults.take(verb, crd.plural)
        if fault is not None:
            reply = self._fault(fault, crd, namespace, name)
            if reply is not None:
                return reply
        request = _Request(method, verb, crd, match["version"], namespace, name, query, content_type, call.body, call)
        handler = getattr(self, f"_{verb}")
        return handler(request)

    def _fault(self, fault: Any, crd: CustomResource, namespace: str | None, name: str | None) -> st.Reply | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.edit is not None and namespace is not None and name is not None:
            key = (crd.resource, namespace, name)
            with self.store.lock:
                current = self.store.get(key)
                if current is not None:
                    fault.edit(current)
                    self.store.write(key, current, "concurrent-write")
        if fault.status == 409:
            return st.conflict(crd.plural, crd.group, name or "")
        if fault.status == 429:
            return st.too_many_requests(fault.retry_after or 1)
        if fault.status:
            return st.status(fault.status, "InternalError" if fault.status == 500 else "ServiceUnavailable",
                             f"injected fault: HTTP {fault.status}")
        return None

    # --- verbs ---------------------------------------------------------------------------
    def _out(self, obj: dict[str, Any], request: _Request) -> dict[str, Any]:
        return {**obj, "apiVersion": f"{request.crd.group}/{request.version}", "kind": request.crd.kind}

    def _get(self, request: _Request) -> st.Reply:
        found = self.store.get((request.crd.resource, request.namespace or "", request.name or ""))
        if found is None:
            return st.not_found(request.crd.plural, request.crd.group, request.name or "")
        return st.Reply(200, self._out(found, request))

    def _list(self, request: _Request) -> st.Reply:
        selector = _label_selector(request.query.get("labelSelector", ""))
        if selector is None:
            return st.bad_request(f"unable to parse requirement: labelSelector {request.query['labelSelector']!r}")
        items = [self._out(obj, request) for obj in self.store.list(request.crd.resource, request.namespace)
                 if selector((obj.get("metadata") or {}).get("labels") or {})]
        return st.Reply(200, {"apiVersion": f"{request.crd.group}/{request.version}", "kind": request.crd.list_kind,
                              "metadata": {"resourceVersion": self.store.revision}, "items": items})

    def _watch(self, request: _Request) -> st.Reply:
        return st.bad_request("watch is not implemented by the fake Kubernetes API")

    def _create(self, request: _Request) -> st.Reply:
        body = request.body
        if not isinstance(body, dict):
            return st.bad_request("the body of a create must be a JSON object")
        metadata = body.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + "".join(secrets.choice(string.ascii_lowercase + string.digits)
                                                                  for _ in range(5))
        request.name = request.call.name = metadata.get("name")
        key = (request.crd.resource, request.namespace or "", request.name or "")
        with self.store.lock:
            if self.store.get(key) is not None:
                return st.already_exists(request.crd.plural, request.crd.group, request.name or "")
            metadata.pop("resourceVersion", None)
            return self._store(request, None, body, 201)

    def _update(self, request: _Request) -> st.Reply:
        body = request.body
        if not isinstance(body, dict):
            return st.bad_request("the body of an update must be a JSON object")
        if not (body.get("metadata") or {}).get("resourceVersion"):
            return st.invalid(request.crd.kind, request.crd.group, request.name or "", [st.Cause(
                "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update", "metadata.resourceVersion")])
        key = (request.crd.resource, request.namespace or "", request.name or "")
        with self.store.lock:
            current = self.store.get(key)
            if current is None:
                return st.not_found(request.crd.plural, request.crd.group, request.name or "")
            return self._store(request, current, body, 200)

    def _patch(self, request: _Request) -> st.Reply:
        if request.content_type == STRATEGIC_MERGE_PATCH:
            # custom resources have no patch strategy metadata (Kubernetes docs, "Custom resources")
            return st.unsupported_media_type(request.content_type)
        if request.content_type == APPLY_PATCH:
            return st.unsupported_media_type(request.content_type + " (server-side apply is not implemented by the fake)")
        if request.content_type not in (MERGE_PATCH, JSON_PATCH):
            return st.unsupported_media_type(request.content_type)
        key = (request.crd.resource, request.namespace or "", request.name or "")
        with self.store.lock:
            current = self.store.get(key)
            if current is None:
                return st.not_found(request.crd.plural, request.crd.group, request.name or "")
            base = self._out(current, request)
            try:
                if request.content_type == MERGE_PATCH:
                    if not isinstance(request.body, dict):
                        raise PatchError("a merge patch must be a JSON object", malformed=True)
                    patched = merge_patch(base, request.body)
                else:
                    patched = json_patch(base, request.body)
            except PatchError as error:
                if error.malformed:
                    return st.bad_request(str(error))
                return st.status(422, "Invalid", str(error))
            if not isinstance(patched, dict):
                return st.status(422, "Invalid", "the patch does not leave an object")
            return self._store(request, current, patched, 200)

    def _delete(self, request: _Request) -> st.Reply:
        key = (request.crd.resource, request.namespace or "", request.name or "")
        with self.store.lock:
            current = self.store.get(key)
            if current is None:
                return st.not_found(request.crd.plural, request.crd.group, request.name or "")
            if request.query.get("dryRun") != "All":
                self.store.delete(key)
        return st.Reply(200, self._out(current, request))

    # --- the shared write path -----------------------------------------------------------
    def _validated(self, crd: CustomResource, version: str, obj: dict[str, Any]) -> Any:
        schema = crd.schema(version)
        if schema is None:
            from .schema import Outcome
            return Outcome(copy.deepcopy(obj))
        outcome = validate(obj, schema)
        self.unchecked_rules.update(outcome.unchecked_rules)
        return outcome

    def _store(self, request: _Request, current: dict[str, Any] | None, new: dict[str, Any], code: int) -> st.Reply:
        """Check and write `new` (the whole object after the request); `current` is what is stored."""
        crd, name = request.crd, request.name or ""
        expected_api = f"{crd.group}/{request.version}"
        if new.get("apiVersion") != expected_api or new.get("kind") != crd.kind:
            return st.bad_request(f"the API version and kind in the data ({new.get('apiVersion')}, {new.get('kind')}) do "
                                  f"not match the expected ({expected_api}, {crd.kind})")
        metadata = new.get("metadata")
        if not isinstance(metadata, dict):
            return st.bad_request("metadata must be an object")
        if metadata.get("name") != name:
            if current is None:
                return st.invalid(crd.kind, crd.group, name, [st.Cause("FieldValueRequired", "Required value", "metadata.name")]) \
                    if not metadata.get("name") else st.bad_request("the name of the object does not match the name on the URL")
            return st.bad_request(f"the name of the object ({metadata.get('name')}) does not match the name on the URL ({name})")
        if metadata.get("namespace", request.namespace) != request.namespace:
            return st.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        causes = _metadata_causes(metadata)
        if current is not None:
            sent = metadata.get("resourceVersion")
            if sent and sent != current["metadata"]["resourceVersion"]:
                return st.conflict(crd.plural, crd.group, name)
        outcome = self._validated(crd, request.version, new)
        causes += outcome.causes
        if causes:
            return st.invalid(crd.kind, crd.group, name, causes)
        strict = request.query.get("fieldValidation") == "Strict"
        if strict and outcome.pruned:
            return st.bad_request(f"{crd.kind} in version \"{request.version}\" cannot be handled as a {crd.kind}: strict "
                                  "decoding error: " + ", ".join(f'unknown field "{p}"' for p in outcome.pruned))
        stored = outcome.value
        stored["metadata"] = {**stored["metadata"], "namespace": request.namespace} if crd.namespaced else stored["metadata"]
        # with the status subresource (Istio's CRDs have it) the main resource never writes status
        stored.pop("status", None)
        if current is not None and "status" in current:
            stored["status"] = current["status"]
        if request.query.get("dryRun") == "All":
            written = {**stored, "metadata": {**stored["metadata"], **({k: current["metadata"][k] for k in
                       ("resourceVersion", "uid", "creationTimestamp", "generation")} if current else {})}}
        else:
            written = self.store.write((crd.resource, request.namespace or "", name), stored, request.verb)
            request.call.resource_version = written["metadata"]["resourceVersion"]
        reply = st.Reply(code, self._out(written, request))
        if outcome.pruned and request.query.get("fieldValidation") != "Ignore":
            reply.headers["Warning"] = ", ".join(f'299 - "unknown field \\"{p}\\""' for p in outcome.pruned)
        return reply


def _metadata_causes(metadata: dict[str, Any]) -> list[st.Cause]:
    causes = []
    name = metadata.get("name", "")
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        causes.append(st.Cause("FieldValueInvalid", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist '
                               "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                               "alphanumeric character", "metadata.name"))
    for part in ("labels", "annotations"):
        values = metadata.get(part)
        if values is not None and (not isinstance(values, dict)
                                   or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())):
            causes.append(st.Cause("FieldValueTypeInvalid", f"Invalid value: {part} must map strings to strings",
                                   f"metadata.{part}"))
    return causes


def _label_selector(text: str) -> Callable[[dict[str, str]], bool] | None:
    """Equality-based selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`), comma-separated; None if malformed."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if m := re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)", part):
            key, op, value = m.groups()
            tests.append((lambda k, v: lambda labels: labels.get(k) == v)(key, value) if op != "!="
                         else (lambda k, v: lambda labels: labels.get(k) != v)(key, value))
        elif m := re.fullmatch(r"(!?)([\w./-]+)", part):
            negate, key = m.groups()
            tests.append((lambda k, n: lambda labels: (k in labels) != n)(key, bool(negate)))
        else:
            return None
    return lambda labels: all(test(labels) for test in tests)
