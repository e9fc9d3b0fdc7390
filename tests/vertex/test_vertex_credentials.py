"""Keyless credentials in the steps: Workload Identity Federation, impersonation, short-lived
tokens renewed mid-run, and every key-bearing set-up refused before any request.

(GKE Workload Identity, through the metadata server, is proven in fresh processes in
tests/contract/vertex/test_google_auth_flows.py: google-auth reads its address at import.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlock_steps.vertex import train
from tests.fakes.google_auth import FakeGoogleAuth
from tests.fakes.vertex import JobPlan

TRAINER = "vertex-trainer@interlock-test.iam.gserviceaccount.com"
ARGS = ["--display-name", "t", "--image-uri", "img", "--base-output-directory", "gs://b/o",
        "--taskrun-uid", "6f1c2d3e-0000-4a1b-9c2d-1234567890ab"]


@pytest.fixture(autouse=True)
def quick_jobs(vertex):
    vertex.state.job_plan = JobPlan(pending=0.02, running=0.05)


def principals(vertex) -> set[str | None]:
    return {c.principal for c in vertex.calls}


def no_key_anywhere(auth: FakeGoogleAuth, vertex) -> None:
    assert not any(c.carries_key for c in auth.calls) and not any(c.carries_key for c in vertex.calls)
    assert not any("key" in c.query for c in vertex.calls)


def test_federation_alone_calls_vertex_as_the_federated_principal(run_step, vertex, auth):
    run = run_step(train, *ARGS)
    assert run.code == 0, run.log
    [principal] = principals(vertex)
    assert principal == ("principal://iam.googleapis.com/projects/123456789012/locations/global/"
                         "workloadIdentityPools/tekton/subject/system:serviceaccount:ci:tekton-steps")
    assert [c.service for c in auth.calls] == ["sts"]
    no_key_anywhere(auth, vertex)
    assert "ya29." not in run.log


def test_federation_with_impersonation_in_the_config(run_step, vertex, auth, wif: Path):
    config = auth.external_account_config(str(wif / "token"), impersonate=TRAINER)
    (wif / "credential-config.json").write_text(json.dumps(config))
    run = run_step(train, *ARGS)
    assert run.code == 0, run.log
    assert principals(vertex) == {TRAINER}
    assert [c.service for c in auth.calls] == ["sts", "iam"]
    assert auth.calls_to("iam")[0].body["scope"] == ["https://www.googleapis.com/auth/cloud-platform"]
    no_key_anywhere(auth, vertex)


def test_impersonation_by_the_step(run_step, vertex, auth):
    run = run_step(train, *ARGS, "--impersonate-service-account", TRAINER, "--iam-endpoint", auth.url)
    assert run.code == 0, run.log
    assert principals(vertex) == {TRAINER}
    assert TRAINER in auth.calls_to("iam")[0].path
    assert "impersonating vertex-trainer@" in run.lines[0]["credentials"]


def test_impersonation_refused_fails_with_iams_message(run_step, vertex, auth):
    auth.config.impersonation = {}     # nobody may impersonate anybody
    run = run_step(train, *ARGS, "--impersonate-service-account", TRAINER, "--iam-endpoint", auth.url)
    assert run.code == 1, run.log
    assert "could not get a Google access token" in run.error and "iam.serviceAccounts.getAccessToken" in run.error
    assert vertex.calls == []


def test_short_lived_tokens_are_renewed_during_the_run(run_step, vertex, auth):
    auth.config.token_lifetime = 60    # google-auth renews a token 3 m 45 s before it expires: every call
    run = run_step(train, *ARGS)
    assert run.code == 0, run.log
    assert len(auth.calls_to("sts")) >= len(vertex.calls) >= 3


def test_an_expired_subject_token_fails_with_stss_answer(run_step, vertex, auth, wif: Path):
    (wif / "token").write_text(auth.subject_token(lifetime=-10))
    run = run_step(train, *ARGS)
    assert run.code == 1, run.log
    assert "could not get a Google access token" in run.error and "invalid_grant" in run.error
    assert vertex.calls == []


def _key_file(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "1",
                                "private_key": pem, "client_email": TRAINER, "client_id": "1",
                                "token_uri": "http://127.0.0.1:9/token"}))


def test_a_service_account_key_in_the_workspace_is_refused_before_any_request(run_step, vertex, auth, wif: Path):
    _key_file(wif / "credential-config.json")
    run = run_step(train, *ARGS)
    assert run.code == 2, run.log
    assert "holds a service-account key (type 'service_account'): refused" in run.error
    assert auth.calls == [] and vertex.calls == []
    assert "PRIVATE KEY" not in run.log


def test_a_key_file_named_by_the_environment_is_refused_too(tmp_path, vertex, auth, monkeypatch):
    from tests.vertex.conftest import make_runner

    _key_file(tmp_path / "key.json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "key.json"))
    run = make_runner(tmp_path, vertex, None, None)(train, *ARGS)
    assert run.code == 2, run.log
    assert f"credential config {tmp_path / 'key.json'} holds a service-account key" in run.error
    assert auth.calls == [] and vertex.calls == []


@pytest.mark.parametrize(("content", "message"), [
    ({"type": "authorized_user", "refresh_token": "r", "client_id": "c", "client_secret": "s"}, "a user's refresh token"),
    ({"type": "impersonated_service_account"}, "source credentials stored in the file"),
    ({"type": "something_else"}, "is not 'external_account'"),
    ("not json", "not readable JSON"),
])
def test_other_credential_files_are_refused(run_step, vertex, auth, wif: Path, content, message):
    (wif / "credential-config.json").write_text(content if isinstance(content, str) else json.dumps(content))
    run = run_step(train, *ARGS)
    assert run.code == 2, run.log
    assert message in run.error
    assert "client_secret" not in run.log and auth.calls == [] and vertex.calls == []


def test_a_missing_token_file_is_named(run_step, vertex, auth, wif: Path):
    (wif / "token").unlink()
    run = run_step(train, *ARGS)
    assert run.code == 2, run.log
    assert f"credential_source.file {wif / 'token'} does not exist" in run.error


def test_no_credentials_at_all_is_a_clear_error(tmp_path, vertex, auth, monkeypatch):
    from tests.vertex.conftest import make_runner

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")      # no metadata server answers there
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))        # nor a gcloud login
    run = make_runner(tmp_path, vertex, None, None)(train, *ARGS)
    assert run.code == 2, run.log
    assert "no Google credentials found" in run.error
    assert vertex.calls == []
