"""Access tokens the fake token services mint, and the subject tokens they accept.

Real Google access tokens are opaque. The fakes' tokens carry who they were issued to and
when they expire, so the fake Vertex AI (a separate process when run standalone) can tell the
caller and refuse an expired token without sharing state with the token services:

    ya29.fake.<base64url JSON {"sub": principal, "exp": epoch seconds, "scope": "..."}>.<nonce>

A subject token (what Workload Identity Federation exchanges at STS) is a JWT-shaped string
whose payload has `iss`, `sub`, `aud` and `exp`; the fake STS reads it without a signature
check (it is a test fixture: the signature belongs to the identity provider, not to us).
"""
from __future__ import annotations

import base64
import json
import secrets
import urllib.parse
from dataclasses import dataclass

PREFIX = "ya29.fake."
# What a request made with a service-account key shows: the key itself, or the JWT-bearer grant
# (RFC 7523) that google-auth's service_account credentials sign with it.
KEY_MARKERS = ("PRIVATE KEY", "private_key", "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion=")


@dataclass(frozen=True)
class TokenInfo:
    principal: str
    expires: float
    scope: str

    def expired(self, now: float) -> bool:
        return now >= self.expires


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _unb64(text: str) -> dict | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def mint(principal: str, *, expires: float, scope: str = "https://www.googleapis.com/auth/cloud-platform") -> str:
    return f"{PREFIX}{_b64({'sub': principal, 'exp': int(expires), 'scope': scope})}.{secrets.token_hex(8)}"


def read(token: str) -> TokenInfo | None:
    """What a token minted here says; None for anything else (a token from elsewhere, garbage)."""
    if not token.startswith(PREFIX):
        return None
    body, _, nonce = token[len(PREFIX):].rpartition(".")
    claims = _unb64(body) if nonce else None
    if not claims or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("exp"), int):
        return None
    return TokenInfo(claims["sub"], float(claims["exp"]), str(claims.get("scope", "")))


def subject_token(subject: str, *, audience: str, expires: float, issuer: str = "https://kubernetes.default.svc") -> str:
    """An unsigned JWT as a Kubernetes projected service-account token (or a CI system's OIDC
    token) looks to the fake STS."""
    header = _b64({"alg": "RS256", "typ": "JWT", "kid": "fake"})
    claims = _b64({"iss": issuer, "sub": subject, "aud": audience, "exp": int(expires), "iat": int(expires) - 3600})
    return f"{header}.{claims}.{_b64({'sig': 'none'})}"


def read_subject_token(token: str) -> dict | None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    return _unb64(parts[1])


def carries_key(request: object) -> bool:
    """Whether a raw request (tests.fakes.loopback.Request) carries a key or a key-signed grant,
    or an API key (`key=` parameter): what a keyless step must never send."""
    text = getattr(request, "text", "") + " " + " ".join(f"{k}={v}" for k, v in getattr(request, "query", {}).items())
    text = urllib.parse.unquote_plus(text)
    return any(marker in text for marker in KEY_MARKERS) or "key" in getattr(request, "query", {})
