"""The same policy through the kubernetes client, looker-sdk and google.api_core."""

from __future__ import annotations

import pytest
from runtime_fakes import Answer

from interlock_steps.runtime import Deadline, RetryPolicy, run_step

POLICY = RetryPolicy(total=3, backoff=0.5, jitter=0.0, timeout=5, deadline=60)
NAMESPACES = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []}


def kubernetes_api(server, clock, policy=POLICY):
    kubernetes = pytest.importorskip("kubernetes", reason="kubernetes comes with the istio extra")
    from interlock_steps.runtime.retry_kubernetes import kubernetes_configuration

    base = kubernetes.client.Configuration()
    base.host = server.url
    configuration = kubernetes_configuration(policy, Deadline(policy.deadline, clock=clock), base=base, sleep=clock.sleep)
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


def test_kubernetes_client_retries_429_with_retry_after(server, clock):
    server.script("/api/v1/namespaces", Answer(429, headers={"Retry-After": "3"}), Answer(200, NAMESPACES))
    result = kubernetes_api(server, clock).list_namespace(_request_timeout=POLICY.timeout)
    assert result.items == []
    assert server.count("/api/v1/namespaces") == 2 and clock.sleeps == [3]


def test_kubernetes_client_does_not_retry_404(server, clock):
    from kubernetes.client.exceptions import ApiException

    server.script("/api/v1/namespaces/nope", Answer(404, {"kind": "Status", "code": 404}), Answer(200))
    with pytest.raises(ApiException) as raised:
        kubernetes_api(server, clock).read_namespace("nope")
    assert raised.value.status == 404
    assert server.count("/api/v1/namespaces/nope") == 1


def test_looker_sdk_uses_the_configured_session(server, clock, monkeypatch):
    pytest.importorskip("looker_sdk", reason="looker-sdk comes with the looker extra")
    from interlock_steps.runtime.retry_requests import looker40_sdk, requests_session

    monkeypatch.setenv("LOOKERSDK_BASE_URL", server.url)
    monkeypatch.setenv("LOOKERSDK_CLIENT_ID", "id")
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", "secret-value")
    monkeypatch.setenv("LOOKERSDK_VERIFY_SSL", "false")
    server.script("/api/4.0/login", Answer(200, {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}))
    server.script("/api/4.0/user", Answer(503), Answer(429, headers={"Retry-After": "2"}), Answer(200, {"id": "7"}))
    session = requests_session(POLICY, Deadline(60, clock=clock), sleep=clock.sleep)
    me = looker40_sdk(session, timeout=5).me()
    assert me.id == "7"
    assert server.count("/api/4.0/user") == 3
    assert clock.sleeps == [2]  # no wait before the first retry, then Retry-After


def google_exceptions():
    pytest.importorskip("google.api_core", reason="google-api-core comes with the vertex extra")
    from google.api_core import exceptions

    return exceptions


@pytest.mark.parametrize(
    ("name", "retried"),
    [
        ("TooManyRequests", True),
        ("InternalServerError", True),
        ("BadGateway", True),
        ("ServiceUnavailable", True),
        ("GatewayTimeout", True),
        ("BadRequest", False),
        ("Unauthorized", False),
        ("Forbidden", False),
        ("NotFound", False),
        ("Conflict", False),
    ],
)
def test_google_predicate_retries_only_429_and_5xx(name, retried):
    from interlock_steps.runtime.retry_google import is_retryable_google_error

    error = getattr(google_exceptions(), name)("x")
    assert is_retryable_google_error(error) is retried


def test_google_predicate_retries_connection_errors():
    from interlock_steps.runtime.retry_google import is_retryable_google_error

    assert is_retryable_google_error(ConnectionResetError("reset"))
    assert not is_retryable_google_error(ValueError("bad"))


def test_google_retry_retries_503_and_stops_on_404():
    exceptions = google_exceptions()
    from interlock_steps.runtime.retry_google import google_retry

    retry = google_retry(RetryPolicy(backoff=0.001, max_backoff=0.002, deadline=30))
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise exceptions.ServiceUnavailable("busy")
        return "ok"

    assert retry(flaky)() == "ok" and len(calls) == 3

    missing_calls = []

    def missing():
        missing_calls.append(1)
        raise exceptions.NotFound("no such model")

    with pytest.raises(exceptions.NotFound):
        retry(missing)()
    assert len(missing_calls) == 1


def test_google_retry_timeout_is_what_is_left_of_the_deadline(clock):
    google_exceptions()
    from interlock_steps.runtime.retry_google import google_retry

    deadline = Deadline(100, clock=clock)
    clock.now += 75
    assert google_retry(RetryPolicy(), deadline).timeout == pytest.approx(25)


def test_google_retry_running_out_exits_with_the_deadline_code(clock):
    exceptions = google_exceptions()
    from interlock_steps.runtime.retry_google import google_retry

    def main(step):
        retry = google_retry(RetryPolicy(total=1000, backoff=0.05, max_backoff=0.05), Deadline(0.2))

        def always_busy():
            raise exceptions.ServiceUnavailable("busy")

        retry(always_busy)()

    import io

    out = io.StringIO()
    assert run_step(main, task="t", step="s", argv=[], environ={}, stream=out) == 3
    assert '"error": "RetryError"' in out.getvalue()


def test_google_retry_gives_up_after_max_retries_with_the_error_itself():
    exceptions = google_exceptions()
    from interlock_steps.runtime.retry_google import google_retry

    seen = []
    retry = google_retry(RetryPolicy(total=2, backoff=0.001, max_backoff=0.002, deadline=30), on_error=seen.append)
    calls = []

    def quota():
        calls.append(1)
        raise exceptions.TooManyRequests("quota exceeded")

    with pytest.raises(exceptions.TooManyRequests, match="quota exceeded"):
        retry(quota)()
    assert len(calls) == 3 and len(seen) == 2   # the first attempt and two retries, each retry announced
