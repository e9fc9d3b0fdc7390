"""The real google-auth flows against the fake token services, and the fakes' own refusals.

The metadata-server flow (GKE Workload Identity) runs in fresh processes: google-auth reads
GCE_METADATA_HOST when it is imported (and GCE_METADATA_IP at each ping), so both are set before
the process starts, as a pod's environment would be."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from interlock.paths import ROOT
from tests.fakes.google_auth import AuthConfig, FakeGoogleAuth, mint, read
from tests.fakes.vertex import FakeVertex, JobPlan, reference_spec
from tests.vertex.conftest import PROJECT

ACCOUNT = AuthConfig.metadata_account


@pytest.fixture
def auth() -> Iterator[FakeGoogleAuth]:
    with FakeGoogleAuth() as fake:
        yield fake


def fresh_env(auth: FakeGoogleAuth, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")}
    return {**env, **auth.metadata_env(), "CLOUDSDK_CONFIG": str(tmp_path)}


def test_google_auth_finds_the_metadata_server_and_gets_a_token(auth, tmp_path):
    code = ("import google.auth, google.auth.transport.requests as r\n"
            "c, project = google.auth.default(scopes=['https://www.googleapis.com/auth/cloud-platform'])\n"
            "c.refresh(r.Request())\n"
            "print(type(c).__module__, project, c.service_account_email, c.token)")
    proc = subprocess.run([sys.executable, "-c", code], env=fresh_env(auth, tmp_path), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    module, project, email, token = proc.stdout.split()
    assert (module, project, email) == ("google.auth.compute_engine.credentials", "interlock-test", ACCOUNT)
    assert read(token).principal == ACCOUNT
    ping = auth.calls[0]
    assert (ping.path, ping.headers["metadata-flavor"], ping.status) == ("/", "Google", 200)
    assert {c.service for c in auth.calls} == {"metadata"}


def test_the_train_step_works_with_gke_workload_identity(auth, tmp_path):
    """The real step, as its container runs it, with the metadata server as its only credentials."""
    with FakeVertex(spec=reference_spec()) as vertex:
        vertex.state.job_plan = JobPlan(pending=0.05, running=0.1)
        (tmp_path / "results").mkdir()
        proc = subprocess.run(
            [sys.executable, "-m", "interlock_steps.vertex.train", "--project", PROJECT, "--api-endpoint", vertex.url,
             "--display-name", "t", "--image-uri", "img", "--base-output-directory", "gs://b/o", "--taskrun-uid",
             "6f1c2d3e-0000-4a1b-9c2d-1234567890ab", "--poll-interval", "0.05", "--results-dir",
             str(tmp_path / "results")], env=fresh_env(auth, tmp_path), cwd=ROOT, capture_output=True, text=True,
            timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (tmp_path / "results" / "state").read_text() == "JOB_STATE_SUCCEEDED"
        assert {c.principal for c in vertex.calls} == {ACCOUNT}
        assert '"credentials": "metadata server (GKE Workload Identity)"' in proc.stdout
        assert not any(c.carries_key for c in auth.calls + vertex.calls)
        assert vertex.request_violations == [] and vertex.spec_violations == []


def test_the_metadata_server_wants_its_header(auth):
    answer = requests.get(f"{auth.url}/computeMetadata/v1/instance/service-accounts/default/token", timeout=5)
    assert (answer.status_code, answer.headers["Metadata-Flavor"]) == (403, "Google")


def test_sts_exchanges_a_subject_token_and_refuses_bad_ones(auth):
    config = auth.external_account_config("/unused")
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "audience": config["audience"],
            "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "subject_token": auth.subject_token(),
            "scope": "https://www.googleapis.com/auth/cloud-platform"}
    good = requests.post(f"{auth.url}/v1/token", data=form, timeout=5)
    assert good.status_code == 200
    assert read(good.json()["access_token"]).principal.endswith("/subject/system:serviceaccount:ci:tekton-steps")
    for change, error in (({"subject_token": "garbage"}, "invalid_grant"),
                          ({"subject_token": auth.subject_token(lifetime=-1)}, "invalid_grant"),
                          ({"audience": "//iam.googleapis.com/elsewhere"}, "invalid_target"),
                          ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, "unsupported_grant_type")):
        refused = requests.post(f"{auth.url}/v1/token", data={**form, **change}, timeout=5)
        assert (refused.status_code, refused.json()["error"]) == (400, error)
    assert auth.calls_to("sts")[0].body["subject_token"] == "<redacted>"
    assert auth.calls_to("sts")[-1].carries_key          # a JWT-bearer grant is what a key file sends


def test_iam_credentials_refuses_who_may_not_impersonate(auth):
    auth.config.impersonation = {"alice@p.iam.gserviceaccount.com": {"trainer@p.iam.gserviceaccount.com"}}

    def generate(caller: str) -> requests.Response:
        return requests.post(auth.iam_endpoint("trainer@p.iam.gserviceaccount.com"), timeout=5,
                             headers={"Authorization": f"Bearer {mint(caller, expires=time.time() + 60)}"},
                             json={"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "600s"})

    allowed = generate("alice@p.iam.gserviceaccount.com")
    assert allowed.status_code == 200 and read(allowed.json()["accessToken"]).principal == "trainer@p.iam.gserviceaccount.com"
    assert generate("mallory@p.iam.gserviceaccount.com").json()["error"]["status"] == "PERMISSION_DENIED"
    assert requests.post(auth.iam_endpoint("trainer@p.iam.gserviceaccount.com"), json={}, timeout=5).status_code == 401


def test_the_credential_config_is_one_google_auth_loads(auth, tmp_path):
    from google.auth import identity_pool

    config = auth.external_account_config(str(tmp_path / "token"), impersonate="t@p.iam.gserviceaccount.com")
    credentials = identity_pool.Credentials.from_info(config)
    assert credentials.service_account_email == "t@p.iam.gserviceaccount.com"
    assert credentials.info["token_url"] == f"{auth.url}/v1/token"
