"""The Kubernetes API, through the official `kubernetes` client: where the credentials come from,
and one client class that owns the calls the Istio steps make.

Credentials: a kubeconfig from the optional `kubeconfig` workspace (the file `kubeconfig` or
`config` in it), else the Pod's ServiceAccount (in-cluster: the token and CA mounted under
/var/run/secrets/kubernetes.io/serviceaccount, the API address from KUBERNETES_SERVICE_HOST/PORT).
Retries are the runtime's (429/5xx/connection errors, Retry-After, the step's deadline) through the
client's own urllib3 Retry; a 409 is not retried blindly but answered by re-reading (see
virtualservice.py). Errors name the object, the HTTP status and the API server's message.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interlock_steps.runtime import BadInput, Deadline, StepError, TargetFailed

GROUP = "networking.istio.io"
API_VERSIONS = ("v1", "v1beta1")
KUBECONFIG_NAMES = ("kubeconfig", "config")


class KubeError(TargetFailed):
    """A Kubernetes API call failed: what was asked, the HTTP status, the server's reason and message."""

    def __init__(self, what: str, status: int | None, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        hint = {401: " (the credentials were refused)",
                403: " (grant it with the Role in the Task's samples/role.yaml)"}.get(status or 0, "")
        super().__init__(f"{what}: HTTP {status} {reason}: {message}{hint}", target=what, status=status, reason=reason)


def api_version(text: str) -> str:
    """Param parser: the networking.istio.io version to speak (v1; v1beta1 accepted)."""
    value = text.strip()
    if value not in API_VERSIONS:
        raise ValueError(f"expected one of {', '.join(API_VERSIONS)}")
    return value


def _kubeconfig_file(folder: str) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise BadInput(f"param 'kubeconfig-dir': {folder} is not a directory (is the kubeconfig workspace bound?)",
                       param="kubeconfig-dir")
    for name in KUBECONFIG_NAMES:
        if (path / name).is_file():
            return path / name
    present = ", ".join(sorted(p.name for p in path.iterdir() if not p.name.startswith("."))) or "nothing"
    raise BadInput(f"kubeconfig workspace {folder}: no file named {' or '.join(KUBECONFIG_NAMES)} (it holds {present})",
                   param="kubeconfig-dir")


def configuration(step: Any, kubeconfig_dir: str, *, deadline: Deadline | None = None) -> Any:
    """A kubernetes Configuration with credentials and the runtime's retry policy.

    `deadline` replaces the step's for these calls (rollback gets its own budget)."""
    import kubernetes
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException

    base = Configuration()
    try:
        if kubeconfig_dir:
            kubernetes.config.load_kube_config(config_file=str(_kubeconfig_file(kubeconfig_dir)),
                                               client_configuration=base)
        else:
            kubernetes.config.load_incluster_config(client_configuration=base)
    except ConfigException as error:
        where = f"kubeconfig in {kubeconfig_dir}" if kubeconfig_dir else "in-cluster ServiceAccount"
        raise BadInput(f"Kubernetes credentials ({where}): {error}"
                       + ("" if kubeconfig_dir else "; outside a cluster, bind the kubeconfig workspace")) from None
    token = (base.api_key or {}).get("authorization") or (base.api_key or {}).get("BearerToken")
    if token:  # "bearer <token>" in-cluster, the bare token from a kubeconfig
        step.secret(token)
        step.secret(token.split(" ", 1)[1] if token.lower().startswith("bearer ") else token)
    if deadline is None:
        return step.kubernetes_configuration(base=base, idempotent=True)
    from interlock_steps.runtime.retry_kubernetes import kubernetes_configuration

    return kubernetes_configuration(step.policy, deadline, idempotent=True, base=base, sleep=step.sleep)


class IstioApi:
    """networking.istio.io objects of one namespace. Every PATCH carries a resourceVersion, so
    repeating one (urllib3 retries a PATCH that got a 5xx) can only ever answer 409, never
    apply twice: PATCH is safe to retry here."""

    def __init__(self, api: Any, namespace: str, version: str, *, timeout: float, deadline: Deadline) -> None:
        self.api = api
        self.namespace = namespace
        self.version = version
        self.timeout = timeout
        self.deadline = deadline

    @classmethod
    def connect(cls, step: Any, namespace: str, version: str, kubeconfig_dir: str,
                deadline: Deadline | None = None) -> IstioApi:
        from kubernetes.client import ApiClient, CustomObjectsApi

        api = CustomObjectsApi(ApiClient(configuration(step, kubeconfig_dir, deadline=deadline)))
        return cls(api, namespace, version, timeout=step.policy.timeout, deadline=deadline or step.deadline)

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        self.deadline.check(what)
        try:
            return getattr(self.api, method)(GROUP, self.version, self.namespace, *args,
                                             _request_timeout=self.deadline.cap(self.timeout), **kwargs)
        except ApiException as error:
            reason, message = _status_of(error)
            raise KubeError(what, error.status, reason, message) from None
        except StepError:
            raise
        except Exception as error:  # urllib3 gave up: connection refused, TLS, timeouts
            raise TargetFailed(f"{what}: {type(error).__name__}: {error}", target=what) from None

    def virtual_service(self, name: str) -> dict[str, Any]:
        return self._call(f"get VirtualService {self.namespace}/{name}", "get_namespaced_custom_object",
                          "virtualservices", name)

    def destination_rules(self) -> list[dict[str, Any]]:
        return self._call(f"list DestinationRules in {self.namespace}", "list_namespaced_custom_object",
                          "destinationrules").get("items", [])

    def patch_virtual_service(self, name: str, operations: list[dict[str, Any]], *,
                              dry_run: bool = False) -> dict[str, Any]:
        kwargs = {"dry_run": "All"} if dry_run else {}
        return self._call(f"patch VirtualService {self.namespace}/{name}", "patch_namespaced_custom_object",
                          "virtualservices", name, operations, _content_type="application/json-patch+json", **kwargs)


def _status_of(error: Any) -> tuple[str, str]:
    """(reason, message) from a Kubernetes Status body, or the raw text."""
    try:
        body = json.loads(error.body or "")
    except (TypeError, ValueError):
        return str(error.reason or ""), " ".join(str(error.body or error.reason or "").split())[:300]
    if isinstance(body, dict):
        return str(body.get("reason") or error.reason or ""), str(body.get("message") or "")[:500]
    return str(error.reason or ""), str(body)[:300]
