"""Secret redaction for everything a step prints or writes.

Values registered as secret, values of environment variables whose names look
secret, and credential patterns (Authorization headers, bearer tokens, token-like
JSON or query fields) are replaced by `***` in logs, error messages and the audit
log. Results are never redacted silently: `find_secret` lets the results writer
refuse them instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "***"

# Name parts that mark an environment variable as secret: LOOKERSDK_CLIENT_SECRET,
# GITHUB_TOKEN, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, API_KEY.
_SECRET_NAME_PARTS = frozenset({"SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "APIKEY"})

# Values that a secret-looking variable may hold without being a secret (flags);
# masking them would blank out every "true" in every log line.
_NOT_SECRET_VALUES = frozenset({"", "true", "false", "yes", "no", "0", "1", "none", "null"})
_MIN_ENV_SECRET_LENGTH = 4

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer x / Authorization: token x / Authorization: Basic x
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|token|basic)\s+[^\s\"',}]+"), rf"\1\2 {MASK}"),
    # A bare "Bearer x" anywhere else (e.g. in an exception message).
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    # "token x" only when x looks like a credential (long, with a digit), so that
    # "token refreshed" in a log message stays readable.
    (re.compile(r"(?i)\b(token)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}"), rf"\1 {MASK}"),
    # Credentials in a URL: scheme://user:password@host
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), rf"\1{MASK}@"),
    # access_token=x, "client_secret": "x", password: x (JSON bodies, query strings).
    (
        re.compile(
            r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|password|api_key)[\"']?"
            r"\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
        ),
        rf"\1{MASK}",
    ),
)


def looks_secret(env_name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    upper = env_name.upper()
    return "PASSWORD" in upper or any(part in _SECRET_NAME_PARTS for part in upper.split("_"))


class Redactor:
    """Holds the secret values of one step and masks them wherever they appear."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for value in secrets:
            self.add(value)

    def add(self, value: str | None) -> str | None:
        """Register a secret value (any non-empty string) and return it unchanged."""
        if value:
            self._secrets.add(value)
        return value

    def add_from_environ(self, environ: Mapping[str, str]) -> list[str]:
        """Register the values of secret-looking variables; returns their names."""
        names = []
        for name, value in environ.items():
            if not looks_secret(name):
                continue
            stripped = value.strip()
            if len(stripped) < _MIN_ENV_SECRET_LENGTH or stripped.lower() in _NOT_SECRET_VALUES:
                continue
            self.add(value)
            if stripped != value:
                self.add(stripped)
            names.append(name)
        return sorted(names)

    def redact(self, text: str) -> str:
        """Mask every registered secret and every credential pattern in `text`."""
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def redact_value(self, value: object) -> object:
        """Redact strings inside any JSON-like value (dicts, lists, scalars)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            # A field named like a secret (password=..., api_key=...) is masked whole.
            return {
                self.redact(str(k)): MASK if isinstance(v, str) and v and looks_secret(str(k)) else self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.redact_value(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.redact(str(value))

    def find_secret(self, text: str) -> str | None:
        """Why `text` must not leave the step (a description, never the secret), or None."""
        if any(secret in text for secret in self._secrets):
            return "a registered secret value"
        for pattern, _ in _PATTERNS:
            if pattern.search(text):
                return "a credential pattern (authorization header, bearer token or token field)"
        return None
