"""Redaction: secrets never reach logs, error messages, the audit log or results."""

from __future__ import annotations

import io
import json

import pytest

from interlock_steps.runtime import MASK, Redactor, TargetFailed, param, run_step
from interlock_steps.runtime.redaction import looks_secret

SECRET = "s3cr3t-VALUE-42"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "authorization: token ghp_abcdefghijklmnop1234",
        "{'Authorization': 'Bearer abc.def'}",
        "sent bearer abcdef123 to the server",
        '{"access_token":"tok-123456","token_type":"Bearer"}',
        "GET /login?client_id=a&client_secret=zzz999&x=1",
        "password: hunter22",
        "connecting to https://svc:pa55word@127.0.0.1:8443/api",
    ],
)
def test_credential_patterns_are_masked(text):
    redacted = Redactor().redact(text)
    assert MASK in redacted
    for credential in ("eyJhbGciOiJIUzI1NiJ9", "ghp_abcdefghijklmnop1234", "abc.def", "abcdef123", "tok-123456", "zzz999", "hunter22", "pa55word"):
        assert credential not in redacted


def test_ordinary_words_stay_readable():
    # "token" followed by an ordinary word is not a credential; one with digits is.
    assert Redactor().redact("token refreshed for user 7") == "token refreshed for user 7"
    assert Redactor().redact("sent token abcdefgh12345678") == f"sent token {MASK}"


def test_registered_secret_is_masked_everywhere_in_a_value():
    redactor = Redactor([SECRET])
    value = {"msg": f"x{SECRET}y", "nested": [SECRET, {"k": SECRET}], "n": 3}
    assert redactor.redact_value(value) == {"msg": f"x{MASK}y", "nested": [MASK, {"k": MASK}], "n": 3}


def test_secret_looking_field_names_are_masked_whole():
    assert Redactor().redact_value({"password": "pw", "api_key": "k", "dry_run": "true"}) == {
        "password": MASK,
        "api_key": MASK,
        "dry_run": "true",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("LOOKERSDK_CLIENT_SECRET", True),
        ("GITHUB_TOKEN", True),
        ("DB_PASSWORD", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("API_KEY", True),
        ("LOOKERSDK_BASE_URL", False),
        ("DRY_RUN", False),
        ("MONKEY_NAME", False),
    ],
)
def test_secret_env_names(name, secret):
    assert looks_secret(name) is secret


def test_env_flags_are_not_taken_for_secrets():
    redactor = Redactor()
    names = redactor.add_from_environ({"USE_TOKEN": "true", "X_KEY": "1", "MY_TOKEN": "abcd1234", "HOME": "/root"})
    assert names == ["MY_TOKEN"]
    assert redactor.redact("true 1 abcd1234") == f"true 1 {MASK}"


def test_no_secret_reaches_logs_errors_or_audit(tmp_path):
    env_secret = "env-secret-9876"
    param_secret = "param-secret-5432"
    runtime_secret = "runtime-token-1111"
    out = io.StringIO()

    def main(step):
        token = step.secret(runtime_secret)
        step.log.info(f"using {env_secret} and {step.params.api_password}", header=f"Authorization: Bearer {token}")
        step.record("call", "svc/1", note=f"with {token}")
        raise TargetFailed(f"remote refused {param_secret} / {token} / {env_secret}", body={"echo": env_secret})

    code = run_step(
        main,
        task="t",
        step="s",
        params=[param("api-password", secret=True)],
        argv=["--api-password", param_secret, "--audit-dir", str(tmp_path)],
        environ={"LOOKERSDK_CLIENT_SECRET": env_secret},
        stream=out,
    )
    assert code == 1
    logs = out.getvalue()
    audit = (tmp_path / "audit.jsonl").read_text()
    for secret in (env_secret, param_secret, runtime_secret):
        assert secret not in logs
        assert secret not in audit
    assert logs.count(MASK) >= 5
    error_line = json.loads(logs.strip().splitlines()[-1])
    assert error_line["msg"] == f"remote refused {MASK} / {MASK} / {MASK}"
    assert error_line["body"] == {"echo": MASK}


def test_secret_in_an_unexpected_traceback_is_masked():
    out = io.StringIO()

    def main(step):
        raise RuntimeError(f"boom with {SECRET}")

    code = run_step(main, task="t", step="s", argv=[], environ={"SERVICE_TOKEN": SECRET}, stream=out)
    assert code == 1
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert SECRET not in out.getvalue()
    assert "RuntimeError" in line["traceback"]


JWT = ("eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")


@pytest.mark.parametrize("template", ["request failed: Bearer {}", "Authorization: Bearer {}", '{{"auth": "bearer {}"}}'])
def test_a_dotted_bearer_token_is_masked_whole(template):
    # A JWT has three dot-separated parts; masking only the first would leave a usable signature.
    redacted = Redactor().redact(template.format(".".join(JWT)))
    assert all(part not in redacted for part in JWT), redacted
    assert MASK in redacted


def test_a_secret_read_from_the_environment_with_a_trailing_newline_is_masked_without_it():
    # `kubectl create secret --from-file` keeps the file's newline; logs quote the value without it.
    redactor = Redactor()
    assert redactor.add_from_environ({"DB_PASSWORD": "hunter2-correct-horse\n"}) == ["DB_PASSWORD"]
    assert redactor.redact("login as admin with hunter2-correct-horse failed") == f"login as admin with {MASK} failed"
    assert redactor.find_secret("password=hunter2-correct-horse") is not None
