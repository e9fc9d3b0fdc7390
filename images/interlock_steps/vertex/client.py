"""One place that owns the Vertex AI clients of a step: construction and every call.

The clients are google-cloud-aiplatform's `aiplatform_v1` GAPIC clients over REST (the one
transport proven here against the fake; it also skips gRPC channel set-up), pointed at the
regional endpoint `{location}-aiplatform.googleapis.com` unless `api-endpoint` says otherwise
(a Private Service Connect name, or `http://127.0.0.1:PORT` for a local server).

`Vertex.call` runs one API call with the step's api_core Retry (429 and 5xx retried with
backoff, at most --max-retries times, never past the deadline) and its per-request timeout,
and turns failures into one-line errors that name the call, the HTTP status, Google's status
and message: `create custom job: HTTP 403 PERMISSION_DENIED: Permission 'aiplatform…' denied`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interlock_steps import runtime as rt

from . import credentials, gapic
from .waiting import Backoff, wait_until

CONNECTION_PARAMS = [
    rt.param("project", required=True, help="Google Cloud project id"),
    rt.param("location", default="us-central1", help="Vertex AI region"),
    rt.param("api-endpoint", default="", help="API endpoint; default {location}-aiplatform.googleapis.com"),
    rt.param("credentials-dir", default="",
             help="bound gcp-credentials workspace (Workload Identity Federation); empty: GKE Workload Identity"),
    rt.param("wif-config", default="credential-config.json",
             help="file name of the external_account credential config in credentials-dir"),
    rt.param("impersonate-service-account", default="", help="service account to impersonate (IAM Credentials)"),
    rt.param("iam-endpoint", default="", help="IAM Credentials API base URL; default Google's"),
]


class VertexError(rt.TargetFailed):
    """A Vertex AI call failed: what was asked, the HTTP status, Google's status and message."""

    def __init__(self, what: str, error: BaseException) -> None:
        self.retryable = rt.is_retryable_exception(error)   # 429, 5xx or a connection error
        self.status = getattr(error, "code", None) if isinstance(getattr(error, "code", None), int) else None
        self.reason, message = _google_error(error)
        head = " ".join(part for part in (f"HTTP {self.status}" if self.status else "", self.reason) if part)
        super().__init__(f"{what}: {head + ': ' if head else ''}{message}", target=what, status=self.status,
                         reason=self.reason)


def _google_error(error: BaseException) -> tuple[str, str]:
    """(canonical code name, Google's message): from the REST answer's `error` object when there
    is one (api_core's own message also carries the method and URL), else from the exception."""
    reason, message = "", " ".join(str(getattr(error, "message", "") or error).split())
    grpc_status = getattr(error, "grpc_status_code", None)
    if grpc_status is not None:
        reason = grpc_status.name
    response = getattr(error, "response", None)
    try:
        body = response.json()["error"]
        reason, message = str(body.get("status") or reason), " ".join(str(body["message"]).split())
    except Exception:  # noqa: BLE001 - no REST body, not JSON, another shape: keep the exception's
        pass
    return reason, message[:500]


def api_endpoint(location: str, override: str) -> str:
    return override or f"{location}-aiplatform.googleapis.com"


def console_url(job: str) -> str:
    """A custom job's page in the Google Cloud console (the URL google-cloud-aiplatform's
    utils/console_utils.py custom_job_console_uri builds)."""
    parts = job.split("/")
    return (f"https://console.cloud.google.com/ai/platform/locations/{parts[3]}/training/{parts[5]}"
            f"?project={parts[1]}")


@dataclass
class Vertex:
    step: rt.Step
    project: str
    location: str
    jobs: Any           # JobServiceClient
    models: Any         # ModelServiceClient
    endpoints: Any      # EndpointServiceClient
    prediction: Any     # PredictionServiceClient

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def retry(self) -> Any:
        def announce(error: BaseException) -> None:
            self.step.log.warning("retrying after a transient error", error=f"{type(error).__name__}: "
                                  f"{' '.join(str(error).split())[:200]}")
        return self.step.google_retry(on_error=announce)

    def call(self, what: str, method: Callable[..., Any], /, *, retry: bool = True, **request: Any) -> Any:
        """`method(**request)` with the step's retry and timeout; VertexError on failure.

        retry=False for calls that are not safe to repeat blindly (creating a job): their
        callers look up what exists before trying again."""
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions

        try:
            return method(**request, retry=self.retry() if retry else None,
                          timeout=self.step.deadline.cap(self.step.policy.timeout))
        except exceptions.RetryError as error:
            raise rt.DeadlineExceeded(f"{what}: the deadline passed while retrying ({error.cause or error})",
                                      target=what) from None
        except auth_exceptions.GoogleAuthError as error:
            raise rt.TargetFailed(f"{what}: could not get a Google access token: "
                                  f"{' '.join(str(error).split())[:300]}", target=what) from None
        except (exceptions.GoogleAPIError, OSError) as error:  # OSError: requests' connection errors
            raise VertexError(what, error) from None

    def finish(self, operation: Any, what: str, backoff: Backoff) -> Any:
        """Wait for a long-running operation (polled with backoff) and return its result;
        VertexError with the operation's own error when it failed."""
        name = operation.operation.name
        self.step.log.info(f"waiting for {what}", target=name)

        def poll() -> bool:
            self.call(f"{what}: poll {name}", lambda retry, timeout: operation.done(retry=retry))
            return operation.operation.done

        wait_until(poll, bool, current=operation.operation.done, backoff=backoff, clock=self.step.clock,
                   sleep=self.step.sleep, deadline=self.step.deadline, margin=0.0, what=what)
        return self.call(what, lambda retry, timeout: operation.result(timeout=timeout, retry=retry))


def connect(step: rt.Step) -> Vertex:
    """The four service clients, authenticated with keyless Application Default Credentials."""
    p = step.params
    classes = {service: gapic.client_class(service) for service in gapic.SERVICES}  # imports before the ping
    creds, how = credentials.resolve(project=p.project, credentials_dir=p.credentials_dir,
                                     wif_config=p.wif_config,
                                     impersonate=p.impersonate_service_account, iam_endpoint=p.iam_endpoint)
    endpoint = api_endpoint(p.location, p.api_endpoint)
    step.log.info("connecting", target=endpoint, credentials=how, project=p.project, location=p.location)
    options = {"api_endpoint": endpoint}
    clients = {service: cls(credentials=creds, transport="rest", client_options=options)
               for service, cls in classes.items()}
    return Vertex(step, p.project, p.location, **clients)
