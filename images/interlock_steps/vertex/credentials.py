"""Google credentials without keys: Application Default Credentials, keyless kinds only.

Two set-ups, both resolved by google-auth's `google.auth.default()`:

- **GKE Workload Identity**: the pod's Kubernetes service account is bound to a Google one;
  google-auth finds the GKE metadata server and gets short-lived tokens from it.
- **Workload Identity Federation** (any Kubernetes, or a CI's OIDC token): an `external_account`
  credential config (from `gcloud iam workload-identity-pools create-cred-config`) in the
  `gcp-credentials` workspace, pointing at a token file (a projected service-account token, or
  a file from a Secret); google-auth exchanges the token at STS, and impersonates a service
  account when the config says so.

Optionally the step then impersonates a service account itself (`impersonate-service-account`),
through the IAM Credentials API. Refused, before any request: a service-account key file, a
user's refresh token, or anything else google-auth could load that is not keyless. The project
is the step's `project` param (GOOGLE_CLOUD_PROJECT), so google-auth never has to ask Cloud
Resource Manager which project a workload identity pool belongs to.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from interlock_steps.runtime import BadInput

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
# what google-auth would accept from a file but a keyless step must not (the `type` field)
REFUSED = {
    "service_account": "a service-account key",
    "authorized_user": "a user's refresh token",
    "external_account_authorized_user": "a user's refresh token",
    "impersonated_service_account": "source credentials stored in the file",
    "gdch_service_account": "a service-account key",
}
IMPERSONATION_LIFETIME = 3600  # seconds, IAM Credentials' default maximum


def check_config(path: Path) -> dict[str, Any]:
    """The credential config at `path`, if it is a keyless one; BadInput naming the file otherwise."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"credential config {path} not found (is the gcp-credentials workspace bound, and is "
                       "wif-config the file name in it?)", param="wif-config") from None
    except (OSError, ValueError) as error:
        raise BadInput(f"credential config {path}: not readable JSON ({type(error).__name__})",
                       param="wif-config") from None
    kind = config.get("type") if isinstance(config, dict) else None
    if kind in REFUSED:
        raise BadInput(f"credential config {path} holds {REFUSED[kind]} (type {kind!r}): refused. Use GKE Workload "
                       "Identity or a Workload Identity Federation config (type 'external_account')",
                       param="wif-config")
    if kind != "external_account":
        raise BadInput(f"credential config {path}: type {kind!r} is not 'external_account' (Workload Identity "
                       "Federation)", param="wif-config")
    token_file = (config.get("credential_source") or {}).get("file")
    if token_file and not Path(token_file).is_file():
        raise BadInput(f"credential config {path}: credential_source.file {token_file} does not exist (mount the "
                       "token there, e.g. the gcp-credentials workspace is /workspace/gcp-credentials)",
                       param="wif-config")
    return config


def resolve(*, project: str, credentials_dir: str = "", wif_config: str = "credential-config.json",
            impersonate: str = "", iam_endpoint: str = "") -> tuple[Any, str]:
    """(credentials, how they were found) for the Vertex AI clients; BadInput when none are
    keyless. Sets GOOGLE_APPLICATION_CREDENTIALS and GOOGLE_CLOUD_PROJECT for google-auth, which
    reads os.environ. Pings the metadata server when no config is given; tokens are fetched on
    the first API call."""
    environ = os.environ
    import google.auth
    from google.auth import compute_engine, exceptions, external_account, impersonated_credentials

    config: dict[str, Any] | None = None
    if credentials_dir:
        path = Path(credentials_dir) / wif_config
        config = check_config(path)
        environ[CREDENTIALS_ENV] = str(path)
    elif environ.get(CREDENTIALS_ENV):
        config = check_config(Path(environ[CREDENTIALS_ENV]))
    environ["GOOGLE_CLOUD_PROJECT"] = project
    try:
        credentials, _ = google.auth.default(scopes=SCOPES)
    except exceptions.DefaultCredentialsError as error:
        raise BadInput("no Google credentials found: bind the gcp-credentials workspace to a Workload Identity "
                       "Federation config, or run on GKE with Workload Identity "
                       f"({str(error).splitlines()[0][:200]})") from None
    if isinstance(credentials, compute_engine.Credentials):
        how = "metadata server (GKE Workload Identity)"
    elif isinstance(credentials, external_account.Credentials):
        impersonation = (config or {}).get("service_account_impersonation_url", "")
        how = f"Workload Identity Federation ({(config or {}).get('audience', '')})"
        if impersonation:
            how += f", impersonating {impersonation.rsplit('/', 1)[-1].split(':')[0]}"
    else:
        raise BadInput(f"Application Default Credentials found {type(credentials).__module__}."
                       f"{type(credentials).__name__}, which is not keyless: refused")
    if impersonate:
        override = (f"{iam_endpoint.rstrip('/')}/v1/projects/-/serviceAccounts/{impersonate}:generateAccessToken"
                    if iam_endpoint else None)
        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=impersonate, target_scopes=SCOPES,
            lifetime=IMPERSONATION_LIFETIME, iam_endpoint_override=override)
        how += f", impersonating {impersonate}"
    return credentials, how
